using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The machine's ceiling: per publish, one pre-built text frame written to every socket, with no protocol, no
/// per-connection queue and no task switch when the socket accepts the write at once. A socket whose previous
/// write is still pending is awaited first (a WebSocket allows one send at a time), which is this target's only
/// back-pressure.
/// </summary>
internal sealed class RawPublisher(string note) : LoadPublisher(note)
{
    private readonly Lock _gate = new();
    private readonly List<Connection> _connections = [];
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);
    private Connection[] _snapshot = [];
    private long _sequence;

    public override string Target => "raw";

    public override int Subscribers => Volatile.Read(ref _snapshot).Length;

    /// <summary>Holds one accepted socket until the client leaves.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new Connection(socket);
        Change(list => list.Add(connection));
        byte[] sink = new byte[256];
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(sink.AsMemory(), context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished: nothing to report, the connection leaves the fan-out below.
        }
        finally
        {
            Change(list => list.Remove(connection));
        }
    }

    protected override async ValueTask<long> PublishAsync(OrderPayload.Row row)
    {
        long sequence = ++_sequence;
        byte[] frame = OrderPayload.BuildFrame(sequence, row, _scratch, _writer);
        foreach (Connection c in Volatile.Read(ref _snapshot))
        {
            if (c.Dead)
            {
                continue;
            }

            try
            {
                if (c.Pending is { } pending)
                {
                    c.Pending = null;
                    await pending;
                }

                ValueTask send = c.Socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                if (!send.IsCompletedSuccessfully)
                {
                    c.Pending = send.AsTask();
                }
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                c.Dead = true;
            }
        }

        return sequence;
    }

    private void Change(Action<List<Connection>> change)
    {
        lock (_gate)
        {
            change(_connections);
            Volatile.Write(ref _snapshot, [.. _connections]);
        }
    }

    private sealed class Connection(WebSocket socket)
    {
        public WebSocket Socket { get; } = socket;

        public Task? Pending { get; set; }

        public bool Dead { get; set; }
    }
}
