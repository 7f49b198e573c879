using System.Net.WebSockets;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// A bare <see cref="ClientWebSocket"/> client (helios and raw): sends its join frame (helios: the tutorial frame, or
/// the broadcast scenario's join), then one receive loop per connection. A <em>stuck</em> client joins and then never
/// reads again.
/// </summary>
internal sealed class WebSocketLoadConnection(int id, LatencyHistogram latency, byte[]? join, bool stuck) : LoadConnection(id, latency)
{
    /// <summary>The tutorial's join of the changes scenario.</summary>
    public static readonly byte[] ChangesJoinFrame = Encoding.UTF8.GetBytes("{\"event\":\"phx_join\",\"topic\":\"" + OrderPayload.Topic + "\",\"ref\":\"1\",\"payload\":{}}");

    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _unstuck = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _aborting;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        // Keep-alive pings would add traffic unrelated to the fan-out under test.
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await _socket.ConnectAsync(server, cancellationToken);
        _ = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        if (join is not null)
        {
            await _socket.SendAsync(join, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        else
        {
            SetJoined(true);
        }

        if (!await Joined.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken))
        {
            throw new InvalidOperationException($"Connection {Id}: the join was refused.");
        }
    }

    public override async Task CloseAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
            }

            await Ended.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            Abort();
        }
    }

    public override void Unstick() => _unstuck.TrySetResult();

    public override void Abort()
    {
        _aborting = true;
        _abort.Cancel();
        _socket.Abort();
        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[4096];
        int count = 0;
        try
        {
            while (true)
            {
                if (stuck && Joined.IsCompleted && !_unstuck.Task.IsCompleted)
                {
                    // Stop reading: the server's sends to this socket fill the kernel buffers and then block.
                    await _unstuck.Task.WaitAsync(_abort.Token);
                }

                if (count == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = (int)(_socket.CloseStatus ?? WebSocketCloseStatus.Empty);
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                count += result.Count;
                if (!result.EndOfMessage)
                {
                    continue;
                }

                OnFrame(buffer.AsSpan(0, count));
                count = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            Faulted = !_aborting;
        }
        finally
        {
            SetJoined(false);
            SetEnded();
        }
    }
}
