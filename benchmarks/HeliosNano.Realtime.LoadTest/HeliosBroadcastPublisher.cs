using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The broadcast scenario's HeliosNano publisher, two ways: <c>helios</c> calls the host API
/// (<see cref="RealtimeBroadcaster.BroadcastAsync(string, string, ReadOnlyMemory{byte}, CancellationToken)"/>), and
/// <c>helios-push</c> is one more WebSocket client on the topic (opened from this process to its own endpoint) that
/// pushes each broadcast as a text frame, as supabase-js's <c>channel.send()</c> does with <c>self: false</c>.
/// </summary>
/// <remarks>
/// Subscribers are the adapter's joined channels (its <c>heliosnano.realtime.ws.channels</c> counter) minus the pusher's;
/// the flat-out throttle reads its <c>heliosnano.realtime.ws.frames.sent</c> counter (only broadcast frames flow during
/// a pass), like the changes scenario reads the frames built.
/// </remarks>
internal sealed class HeliosBroadcastPublisher : LoadPublisher, IDisposable
{
    private readonly RealtimeBroadcaster _broadcaster;
    private readonly bool _viaClient;
    private readonly Uri _endpoint;
    private readonly MeterListener _listener = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private ClientWebSocket? _pusher;
    private long _channels;
    private long _framesSent;
    private long _sequence;

    public HeliosBroadcastPublisher(RealtimeBroadcaster broadcaster, string note, bool viaClient, int port)
        : base(note)
    {
        _broadcaster = broadcaster;
        _viaClient = viaClient;
        _endpoint = new Uri($"ws://127.0.0.1:{port}{RealtimeEndpointRouteBuilderExtensions.DefaultPattern}");
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "HeliosNano.Realtime"
                && instrument.Name is "heliosnano.realtime.ws.channels" or "heliosnano.realtime.ws.frames.sent")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, _, state) =>
        {
            var self = (HeliosBroadcastPublisher)state!;
            if (instrument.Name == "heliosnano.realtime.ws.channels")
            {
                Interlocked.Add(ref self._channels, value);
            }
            else
            {
                Interlocked.Add(ref self._framesSent, value);
            }
        });
        _listener.Start();
    }

    public override string Target => _viaClient ? "helios-push" : "helios";

    public override int Subscribers => (int)Interlocked.Read(ref _channels) - (Volatile.Read(ref _pusher) is null ? 0 : 1);

    public override long FramesBuilt => Interlocked.Read(ref _framesSent);

    public void Dispose()
    {
        _listener.Dispose();
        _pusher?.Abort();
        _pusher?.Dispose();
    }

    protected override async ValueTask<long> PublishAsync(OrderPayload.Row row)
    {
        long sequence = ++_sequence;
        if (!_viaClient)
        {
            // What a host does: hand the broadcaster its payload; it validates, copies, and fans out.
            await _broadcaster.BroadcastAsync(BroadcastPayload.Name, BroadcastPayload.Event, BroadcastPayload.UserPayload(sequence, row, _scratch));
            return sequence;
        }

        ClientWebSocket pusher = _pusher ?? await ConnectPusherAsync();
        await pusher.SendAsync(BroadcastPayload.BuildPush(sequence, row, _scratch), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        return sequence;
    }

    protected override long Backlog(long published, long framesAtStart) =>
        published - ((FramesBuilt - framesAtStart) / Math.Max(1, Subscribers));

    /// <summary>Opens the pushing client and joins the topic with <c>self: false</c> (it receives nothing back).</summary>
    private async Task<ClientWebSocket> ConnectPusherAsync()
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(_endpoint, CancellationToken.None);
        await socket.SendAsync(BroadcastPayload.JoinFrame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        byte[] buffer = new byte[4096];
        ValueWebSocketReceiveResult reply = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        if (buffer.AsSpan(0, reply.Count).IndexOf("\"status\":\"ok\""u8) < 0)
        {
            throw new InvalidOperationException("The pusher's join was refused.");
        }

        _ = DrainAsync(socket, buffer);
        Volatile.Write(ref _pusher, socket);
        return socket;
    }

    /// <summary>Reads (and drops) whatever the server sends the pusher, so its socket never stalls.</summary>
    private static async Task DrainAsync(ClientWebSocket socket, byte[] buffer)
    {
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await Console.Error.WriteLineAsync($"[server] the pusher was closed: {socket.CloseStatus} {socket.CloseStatusDescription}");
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The server is stopping.
        }
    }
}

