using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// One client of the presence scenario: joins <see cref="Topic"/> with <c>config.presence</c> (key <c>m{id:D5}</c>,
/// enabled), waits for its <c>presence_state</c>, then tracks a small payload, as supabase-js's <c>channel.track()</c>.
/// Counts every <c>presence_diff</c> it receives, with the size and arrival time of the last one.
/// </summary>
internal sealed class PresenceMember(int id)
{
    public const string Topic = "realtime:lobby";

    private readonly ClientWebSocket _socket = new();
    private readonly TaskCompletionSource<bool> _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _state = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _tracked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Diffs received; written by the receive loop only.</summary>
    public long Diffs;

    /// <summary>When the last diff arrived (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public long LastDiffTicks;

    /// <summary>Size of the last diff's whole text frame.</summary>
    public int LastDiffBytes;

    public int Id { get; } = id;

    /// <summary>Gets the presence key, fixed width (<c>m00042</c>) so that every diff has the same size.</summary>
    public string Key => "m" + Id.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>Gets the size of the <c>presence_state</c> frame this member received after its join.</summary>
    public int StateBytes { get; private set; }

    /// <summary>Gets the time from sending the join to receiving the state (ticks).</summary>
    public long JoinTicks { get; private set; }

    /// <summary>Gets the time from sending the track to its reply (ticks).</summary>
    public long TrackTicks { get; private set; }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    public async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await _socket.ConnectAsync(server, cancellationToken);
        _ = Task.Run(ReceiveLoopAsync, CancellationToken.None);
    }

    /// <summary>Joins with presence enabled and waits for the join reply and the <c>presence_state</c>.</summary>
    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        string frame = "{\"topic\":\"" + Topic + "\",\"event\":\"phx_join\",\"payload\":{\"config\":{\"broadcast\":{\"self\":false,\"ack\":false},\"presence\":{\"key\":\""
            + Key + "\",\"enabled\":true}}},\"ref\":\"1\",\"join_ref\":\"1\"}";
        long start = Stopwatch.GetTimestamp();
        await _socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        if (!await _joined.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken))
        {
            throw new InvalidOperationException($"Member {Id}: the join was refused.");
        }

        await _state.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        JoinTicks = Stopwatch.GetTimestamp() - start;
    }

    /// <summary>Tracks <c>{"user":key,"status":"online","online_at":…}</c> and waits for the reply.</summary>
    public async Task TrackAsync(long sentTicks, CancellationToken cancellationToken)
    {
        string frame = "{\"topic\":\"" + Topic + "\",\"event\":\"presence\",\"payload\":{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"user\":\""
            + Key + "\",\"status\":\"online\",\"online_at\":\"2026-12-02T01:00:00.000Z\"}},\"ref\":\"2\",\"join_ref\":\"1\"}";
        await _socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        if (!await _tracked.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken))
        {
            throw new InvalidOperationException($"Member {Id}: the track was refused.");
        }

        TrackTicks = Stopwatch.GetTimestamp() - sentTicks;
    }

    public void Abort()
    {
        _socket.Abort();
        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[64 * 1024];
        int count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                count += result.Count;
                if (result.EndOfMessage)
                {
                    OnFrame(buffer.AsSpan(0, count));
                    count = 0;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Aborted at the end of the run.
        }
        finally
        {
            _joined.TrySetResult(false);
            _state.TrySetResult(false);
            _tracked.TrySetResult(false);
        }
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        long now = Stopwatch.GetTimestamp();
        if (frame.IndexOf("\"presence_diff\""u8) >= 0)
        {
            LastDiffBytes = frame.Length;
            Volatile.Write(ref LastDiffTicks, now);
            Interlocked.Increment(ref Diffs);
        }
        else if (frame.IndexOf("\"presence_state\""u8) >= 0)
        {
            StateBytes = frame.Length;
            _state.TrySetResult(true);
        }
        else if (frame.IndexOf("\"phx_reply\""u8) >= 0)
        {
            bool ok = frame.IndexOf("\"status\":\"ok\""u8) >= 0;
            (frame.IndexOf("\"ref\":\"2\""u8) >= 0 ? _tracked : _joined).TrySetResult(ok);
        }
    }
}
