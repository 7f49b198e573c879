using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The machine's ceiling: per publish, one pre-built text frame written to every socket on the publisher's thread,
/// with no protocol and no task switch while the socket accepts the write at once. Only a socket still busy with an
/// earlier frame (a WebSocket allows one send at a time) gets the frame queued behind it, sent when the pending write
/// completes; flat out, the publisher keeps that backlog bounded as for HeliosNano.
/// </summary>
/// <remarks><paramref name="buildFrame"/> makes each frame (default: the changes scenario's order frame).</remarks>
internal sealed class RawPublisher(string note, Func<long, OrderPayload.Row, byte[]>? buildFrame = null) : LoadPublisher(note)
{
    /// <summary>Frames per burst when flat out: enough for the transport to coalesce, small next to the throttle window.</summary>
    private const int FlatOutBatch = 16;

    private readonly Lock _gate = new();
    private readonly List<Connection> _connections = [];
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);
    private Connection[] _snapshot = [];
    private long _sequence;
    private long _framesSent;
    private readonly List<byte[]> _batch = [];

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

    public override long FramesBuilt => Interlocked.Read(ref _framesSent);

    protected override ValueTask<long> PublishAsync(OrderPayload.Row row)
    {
        long sequence = ++_sequence;
        _batch.Add(buildFrame is null ? OrderPayload.BuildFrame(sequence, row, _scratch, _writer) : buildFrame(sequence, row));

        // Flat out, frames go out in bursts of FlatOutBatch per socket, written back to back so Kestrel's transport can
        // put several into one send, as it does for the other targets' per-connection loops when they run behind.
        if (!FlatOut || _batch.Count >= FlatOutBatch)
        {
            Flush();
        }

        return new ValueTask<long>(sequence);
    }

    protected override void Flush()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        byte[][] frames = [.. _batch];
        _batch.Clear();
        Connection[] all = Volatile.Read(ref _snapshot);

        // One slice of sockets per core, so the ceiling uses the whole machine as the per-connection loops of the
        // other targets do; below 64 sockets the split costs more than it gains.
        int parts = all.Length >= 64 ? Environment.ProcessorCount : 1;
        if (parts == 1)
        {
            FanOut(all, 0, all.Length, frames);
        }
        else
        {
            Parallel.For(0, parts, p => FanOut(all, p * all.Length / parts, (p + 1) * all.Length / parts, frames));
        }
    }

    private void FanOut(Connection[] all, int from, int to, byte[][] frames)
    {
        for (int i = from; i < to; i++)
        {
            Connection c = all[i];
            lock (c)
            {
                if (c.Dead)
                {
                    continue;
                }

                // A socket still busy with an earlier frame gets these queued behind it (the flat-out throttle bounds this).
                for (int k = c.Sending ? 0 : 1; k < frames.Length; k++)
                {
                    c.Backlog.Enqueue(frames[k]);
                }

                if (c.Sending)
                {
                    continue;
                }

                c.Sending = true;
            }

            Send(c, frames[0]);
        }
    }

    protected override long Backlog(long published, long framesAtStart) =>
        published - ((FramesBuilt - framesAtStart) / Math.Max(1, Subscribers));

    /// <summary>Writes on the publisher's thread while the socket accepts writes at once; continues asynchronously only when it does not.</summary>
    private void Send(Connection c, byte[] frame)
    {
        while (true)
        {
            ValueTask send;
            try
            {
                send = c.Socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
                MarkDead(c);
                return;
            }

            if (!send.IsCompletedSuccessfully)
            {
                _ = CompleteAsync(c, send.AsTask());
                return;
            }

            Interlocked.Increment(ref _framesSent);
            lock (c)
            {
                if (!c.Backlog.TryDequeue(out frame!))
                {
                    c.Sending = false;
                    return;
                }
            }
        }
    }

    private async Task CompleteAsync(Connection c, Task pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            MarkDead(c);
            return;
        }

        Interlocked.Increment(ref _framesSent);
        byte[]? next;
        lock (c)
        {
            if (!c.Backlog.TryDequeue(out next))
            {
                c.Sending = false;
                return;
            }
        }

        Send(c, next);
    }

    private static void MarkDead(Connection c)
    {
        lock (c)
        {
            c.Dead = true;
            c.Backlog.Clear();
        }
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

        public Queue<byte[]> Backlog { get; } = new();

        public bool Sending { get; set; }

        public bool Dead { get; set; }
    }
}
