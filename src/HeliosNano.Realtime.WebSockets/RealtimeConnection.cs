using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One client's WebSocket, the transport half of the split (SignalR's <c>HubConnectionContext</c> plus its transport):
/// a receive loop that parses and limits inbound messages, and one connection loop that is the only sender, so
/// replies, system messages, topic messages and changes go out through one serialized path in a well-defined order.
/// </summary>
/// <remarks>
/// <para>
/// What a message means is <see cref="RealtimeProtocolDispatcher"/>'s job (event → handler); postgres_changes are
/// <see cref="PostgresChangesExtension"/>'s, which owns the connection's <see cref="ChangeReader"/>; topic messages
/// arrive from <see cref="RealtimeTopicManager"/> through <see cref="EnqueueTopicMessage"/>.
/// </para>
/// <para>
/// Inbound messages go through a small bounded channel, so a client that floods faster than the server answers is
/// slowed by TCP back-pressure, not buffered. A slow socket shows up as ring lag for changes (reported to the client),
/// never as an unbounded queue.
/// </para>
/// </remarks>
internal sealed partial class RealtimeConnection : IDisposable
{
    /// <summary>Inbound messages waiting for the connection loop; small because each is answered in microseconds.</summary>
    private const int InboundQueueCapacity = 32;

    /// <summary>Topic messages sent in a row before inbound messages and changes get a turn.</summary>
    private const int TopicBatch = 64;

    private readonly WebSocket _socket;
    private readonly RealtimeWebSocketOptions _options;
    private readonly RealtimeWebSocketMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly string _id;
    private readonly PhoenixFrameWriter _frames;
    private readonly Channel<InboundItem> _inbound;
    private readonly RealtimeChannelCollection _channels;
    private readonly RealtimeProtocolDispatcher _dispatcher;
    private readonly PostgresChangesExtension _postgres;

    /// <summary>Topic messages for this connection's channels, queued by any thread's fan-out, sent by the connection loop.</summary>
    /// <summary>Broadcast and presence messages waiting for the loop; created by the first one, so a connection that only watches changes holds none.</summary>
    private ConcurrentQueue<(RealtimeChannel Channel, RealtimeBroadcastMessage Message)>? _topicMessages;

    /// <summary>How many messages <see cref="_topicMessages"/> holds, bounded by <see cref="RealtimeWebSocketOptions.MaxQueuedTopicMessages"/>.</summary>
    private int _queuedTopicMessages;

    /// <summary>
    /// Cancelled to wake the connection loop's idle wait for an inbound message, a topic message, the end of the
    /// receive loop or a close request; replaced after each use. The common wake (a change) needs no allocation: the
    /// loop awaits the reader's <see cref="ChangeReader.WaitToReadAsync"/> directly with this token.
    /// </summary>
    private CancellationTokenSource _wake = new();

    /// <summary>The idle wait of a connection without postgres_changes bindings: set by every <see cref="Wake"/>, no cancellation.</summary>
    private readonly WakeSignal _signal = new();

    /// <summary>Stops the receive loop once the connection loop is done, even if it waits on a full inbound queue.</summary>
    private readonly CancellationTokenSource _stopReceiving = new();
    /// <summary>Bounds the close handshake's send.</summary>
    private CancellationTokenSource _sendTimeout;

    /// <summary>
    /// Armed at the first send of a burst (one pass of the connection loop: inbound replies, topic messages and at most
    /// <see cref="PostgresChangesExtension.ChangeBatch"/> changes) and stopped when the pass ends; when it fires it
    /// aborts the connection, which fails the pending send. Sends pass no token, so each frame pays neither a timer
    /// update nor a token registration.
    /// </summary>
    private readonly ITimer _sendTimer;
    private bool _sendTimeoutArmed;
    private volatile bool _sendTimedOut;
    private readonly ITimer _idleTimer;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;
    private string _closeReason = string.Empty;
    private int _closeRequestedFlag;

    /// <summary>Frames sent since the last <see cref="FlushCounters"/>; only the connection loop touches it.</summary>
    private long _framesSentPending;

    public RealtimeConnection(
        WebSocket socket,
        HttpContext httpContext,
        RealtimeWebSocketOptions options,
        ChangeNotifier notifier,
        RealtimeTopicManager topics,
        RealtimePresenceTracker presence,
        RealtimeWebSocketMetrics metrics,
        ILogger logger,
        TimeProvider timeProvider,
        bool arrayFormat,
        string id,
        RealtimeAuthServices auth,
        RealtimeTokenResult identity,
        IChangeHistory? history = null)
    {
        _socket = socket;
        HttpContext = httpContext;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _timeProvider = timeProvider;
        _id = id;
        _frames = new PhoenixFrameWriter(arrayFormat);
        _inbound = Channel.CreateBounded<InboundItem>(new BoundedChannelOptions(InboundQueueCapacity)
        {
            SingleReader = false, // the receive loop drains what is left when it ends, the closing loop drains meanwhile
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _sendTimeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        _sendTimer = timeProvider.CreateTimer(static state => ((RealtimeConnection)state!).AbortStuckSend(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _idleTimer = timeProvider.CreateTimer(static state => ((RealtimeConnection)state!).OnIdle(), this, options.IdleTimeout, Timeout.InfiniteTimeSpan);
        _channels = new RealtimeChannelCollection(metrics, topics, presence);
        _postgres = new PostgresChangesExtension(this, _channels, notifier, history);
        _auth = new RealtimeAuthExtension(this, _channels, auth, identity);
        _dispatcher = new RealtimeProtocolDispatcher(this, _channels, _postgres, new BroadcastExtension(this, topics), new PresenceExtension(this, _channels, presence), _auth);
    }

    /// <summary>Gets the connection id used in logs, e.g. <c>ws-1</c>.</summary>
    public string Id => _id;

    /// <summary>Gets the upgrade request.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Gets the endpoint's options.</summary>
    public RealtimeWebSocketOptions Options => _options;

    /// <summary>Gets the adapter's instruments.</summary>
    public RealtimeWebSocketMetrics Metrics => _metrics;

    /// <summary>Gets the server's clock, for limits counted in time windows.</summary>
    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>Gets the connection's logger.</summary>
    public ILogger Logger => _logger;

    /// <summary>Gets the writer of this connection's outbound frames; only the connection loop uses it.</summary>
    public PhoenixFrameWriter Frames => _frames;

    /// <summary>Gets the joined channels, for tests.</summary>
    internal int ChannelCount => _channels.Count;

    /// <summary>Runs the connection until the client leaves, a limit closes it, or the server shuts down.</summary>
    public async Task RunAsync(CancellationToken shutdown)
    {
        _metrics.Connections.Add(1);
        using CancellationTokenRegistration stopping = shutdown.Register(static state => ((RealtimeConnection)state!).RequestClose(WebSocketCloseStatus.EndpointUnavailable, "server shutting down"), this);
        Task receive = ReceiveLoopAsync();
        try
        {
            await ConnectionLoopAsync().ConfigureAwait(false);
            if (_sendTimedOut)
            {
                // The abort landed between two sends: the loop saw the connection ending and stopped without a
                // failed send to report it.
                Log.SendTimedOut(_logger, _id, _options.SendTimeout);
                _socket.Abort();
            }
            else
            {
                await CloseAsync(receive).ConfigureAwait(false);
            }
        }
        catch (Exception e) when ((_sendTimedOut || _sendTimeout.IsCancellationRequested)
            && e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            Log.SendTimedOut(_logger, _id, _options.SendTimeout);
            _socket.Abort();
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            Log.ConnectionAborted(_logger, _id, e.Message);
            _socket.Abort();
        }
        catch (Exception e)
        {
            Log.ConnectionFailed(_logger, _id, e);
            _socket.Abort();
        }
        finally
        {
            // The close handshake is over (or abandoned): nothing more will be read, and a receive loop blocked on a
            // full inbound queue must not keep the request alive.
            _stopReceiving.Cancel();
            FlushCounters();
            _postgres.Dispose();
            await _channels.RemoveAllAsync().ConfigureAwait(false);
            Volatile.Read(ref _topicMessages)?.Clear();
            _metrics.Connections.Add(-1);
            Log.Disconnected(_logger, _id);
        }

        try
        {
            await receive.ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            Log.ConnectionAborted(_logger, _id, e.Message);
        }
    }

    public void Dispose()
    {
        _idleTimer.Dispose();
        _sendTimer.Dispose();
        _sendTimeout.Dispose();
        _stopReceiving.Dispose();
        _wake.Dispose();
        _frames.Dispose();
        _postgres.Dispose();
    }

    /// <summary>Asks the connection loop to close the socket with this status (the first request wins). Thread-safe.</summary>
    internal void RequestClose(WebSocketCloseStatus status, string reason)
    {
        // First request wins: the close status must not change once the loop may have read it.
        if (Interlocked.Exchange(ref _closeRequestedFlag, 1) != 0)
        {
            return;
        }

        _closeStatus = status;
        _closeReason = reason;
        Wake();
    }

    /// <summary>Queues a topic message for <paramref name="channel"/>; the connection loop sends it. Thread-safe, never blocks.</summary>
    internal void EnqueueTopicMessage(RealtimeChannel channel, RealtimeBroadcastMessage message)
    {
        if (Interlocked.Increment(ref _queuedTopicMessages) > _options.MaxQueuedTopicMessages)
        {
            // The client reads slower than its topics produce: close it rather than hold an unbounded queue.
            Interlocked.Decrement(ref _queuedTopicMessages);
            if (!IsCloseRequested)
            {
                Log.TopicQueueFull(_logger, _id, _options.MaxQueuedTopicMessages);
                RequestClose(WebSocketCloseStatus.PolicyViolation, "too slow: message queue full");
            }

            return;
        }

        ConcurrentQueue<(RealtimeChannel Channel, RealtimeBroadcastMessage Message)> queue = Volatile.Read(ref _topicMessages)
            ?? Interlocked.CompareExchange(ref _topicMessages, new(), null)
            ?? _topicMessages;
        queue.Enqueue((channel, message));
        Wake();
    }

    private bool HasTopicMessages => Volatile.Read(ref _topicMessages) is { IsEmpty: false };

    /// <summary>Wakes the connection loop's idle wait (it re-checks inbound messages and close requests). Thread-safe.</summary>
    internal void Wake()
    {
        // Full fence: the state change made before this call (an enqueued message, the close flag) must be visible
        // before we read _wake, pairing with the loop's fenced swap in RenewWake (store-load ordering).
        Interlocked.MemoryBarrier();
        _signal.Signal();
        try
        {
            // Cheap once cancelled: a connection waiting on _signal leaves this source cancelled and never renews it.
            Volatile.Read(ref _wake).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection is over.
        }
    }

    /// <summary>Replaces a used wake source; the old one is not disposed because a late <see cref="Wake"/> may still cancel it.</summary>
    private void RenewWake() => Interlocked.Exchange(ref _wake, new CancellationTokenSource());

    private bool IsCloseRequested => Volatile.Read(ref _closeRequestedFlag) != 0;

    /// <summary>
    /// Gets whether the connection is closing or its client is gone (the receive loop ended on a close frame or an
    /// error): work done for it, such as evaluating filters, should stop. Cheap: two reads.
    /// </summary>
    internal bool IsEnding => IsCloseRequested || _inbound.Reader.Completion.IsCompleted;

    private void OnIdle()
    {
        Log.IdleTimeout(_logger, _id, _options.IdleTimeout);
        RequestClose(WebSocketCloseStatus.NormalClosure, "idle timeout");
    }

    private async Task ConnectionLoopAsync()
    {
        while (!IsCloseRequested)
        {
            bool worked = await RunAuthChecksAsync().ConfigureAwait(false);
            while (_inbound.Reader.TryRead(out InboundItem? item))
            {
                worked = true;

                // Changes published before this message arrived go out before its reply (up to one batch), so a push
                // (a heartbeat) is a barrier a client can rely on: what committed before it was sent is received
                // before its answer. A channel this message joins gets only what its join's tail says.
                await _postgres.DeliverBatchAsync().ConfigureAwait(false);
                await _dispatcher.HandleAsync(item).ConfigureAwait(false);
                if (IsCloseRequested)
                {
                    return;
                }

                // What the message caused on its topics (a self broadcast, its own presence diff) goes out before the
                // replies to later messages, so a client sees effects in the order of its pushes.
                if (HasTopicMessages)
                {
                    await SendTopicMessagesAsync().ConfigureAwait(false);
                }
            }

            worked |= await SendTopicMessagesAsync().ConfigureAwait(false);
            worked |= await _postgres.DeliverBatchAsync().ConfigureAwait(false);

            // Counters go to the shared instruments once per burst, not per frame (no cross-core traffic per frame);
            // the burst's send timeout stops.
            FlushCounters();
            DisarmSendTimeout();
            if (worked)
            {
                continue;
            }

            // Every send of the burst completed: the frame buffer goes back to the pool while the connection waits.
            _frames.Release();

            if (!_postgres.HasBindings)
            {
                // Nothing to read from the ring (broadcast and presence only): wait on the connection's own signal,
                // which every Wake sets (a signal given since the last wait returns at once), so a wake-up costs no
                // cancellation. The ring's completion does not close such a connection; host shutdown still does.
                if (_inbound.Reader.Completion.IsCompleted)
                {
                    return;
                }

                if (IsCloseRequested || _inbound.Reader.TryPeek(out _) || HasTopicMessages)
                {
                    continue;
                }

                await _signal.WaitAsync().ConfigureAwait(false);
                continue;
            }

            // Idle: take the wake token first, then re-check what it signals. Anything enqueued or requested after
            // the check cancels this token; anything before it is seen by the check.
            CancellationTokenSource wake = Volatile.Read(ref _wake);
            if (wake.IsCancellationRequested)
            {
                RenewWake();
                continue;
            }

            if (_inbound.Reader.Completion.IsCompleted)
            {
                // The receive loop ended: the client closed or vanished.
                return;
            }

            if (IsCloseRequested || _inbound.Reader.TryPeek(out _) || HasTopicMessages || IsAuthCheckDue)
            {
                continue;
            }

            bool open;
            try
            {
                // The common wake-up (a change arrived) completes this ValueTask without allocating.
                open = await _postgres.WaitToReadAsync(wake.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (wake.IsCancellationRequested)
            {
                RenewWake();
                continue;
            }

            if (!open)
            {
                // The notifier completed (the host is stopping the change feed): nothing more will arrive.
                RequestClose(WebSocketCloseStatus.EndpointUnavailable, "change notifier completed");
            }
        }
    }

    /// <summary>Sends at most <see cref="TopicBatch"/> queued topic messages, each as the frame its message encoded once for this connection's format.</summary>
    private async ValueTask<bool> SendTopicMessagesAsync()
    {
        bool worked = false;
        ConcurrentQueue<(RealtimeChannel Channel, RealtimeBroadcastMessage Message)>? queue = Volatile.Read(ref _topicMessages);
        for (int i = 0; queue is not null && i < TopicBatch && queue.TryDequeue(out (RealtimeChannel Channel, RealtimeBroadcastMessage Message) item); i++)
        {
            Interlocked.Decrement(ref _queuedTopicMessages);
            worked = true;
            if (item.Channel.IsClosed || (item.Message.IsPresenceDiff && !item.Channel.ReceivesPresence))
            {
                continue;
            }

            ReadOnlyMemory<byte> frame = item.Message.GetFrame(FrameFormat, out bool binary);
            if (!frame.IsEmpty)
            {
                await SendAsync(frame, binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text).ConfigureAwait(false);
            }
        }

        return worked;
    }

    /// <summary>
    /// Gets how broadcasts are encoded for this connection. realtime-js and phoenix.js both say vsn 2.0.0, but only
    /// realtime-js decodes binary kind 4 (phoenix.js breaks on it): a connection gets kind 4 once it has pushed a
    /// kind-3 frame itself, and JSON arrays (which both decode to the same broadcast) until then.
    /// </summary>
    internal RealtimeFrameFormat FrameFormat => !_frames.ArrayFormat ? RealtimeFrameFormat.V1Json
        : SpeaksBinaryBroadcasts ? RealtimeFrameFormat.V2Binary : RealtimeFrameFormat.V2Json;

    /// <summary>Gets or sets a value indicating whether the client pushed a binary kind-3 frame, so it decodes kind 4.</summary>
    internal bool SpeaksBinaryBroadcasts { get; set; }

    private async Task CloseAsync(Task receive)
    {
        WebSocketState state = _socket.State;
        if (state is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            WebSocketCloseStatus status = IsCloseRequested ? _closeStatus : WebSocketCloseStatus.NormalClosure;
            string reason = IsCloseRequested ? _closeReason : string.Empty;
            Log.Closing(_logger, _id, status, reason);
            DisarmSendTimeout();
            _sendTimeout.CancelAfter(_options.SendTimeout);
            await _socket.CloseOutputAsync(status, reason, _sendTimeout.Token).ConfigureAwait(false);
            ResetSendTimeout();
        }

        // Wait for the client's close frame (the receive loop ends on it), but not forever. Meanwhile drop what the
        // client still sends, so a receive loop waiting on a full inbound queue can reach the close frame.
        while (_inbound.Reader.TryRead(out InboundItem? dropped))
        {
            dropped.Message?.Dispose();
        }

        _ = DrainInboundAsync();
        Task timeout = Task.Delay(_options.CloseTimeout, _timeProvider);
        if (await Task.WhenAny(receive, timeout).ConfigureAwait(false) == timeout)
        {
            _socket.Abort();
        }
    }

    private async Task DrainInboundAsync()
    {
        try
        {
            while (await _inbound.Reader.WaitToReadAsync(_stopReceiving.Token).ConfigureAwait(false))
            {
                while (_inbound.Reader.TryRead(out InboundItem? dropped))
                {
                    dropped.Message?.Dispose();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended.
        }
    }

    /// <summary>
    /// The one send path: one frame per message; the burst it belongs to is bounded by
    /// <see cref="RealtimeWebSocketOptions.SendTimeout"/> (armed here once, stopped by <see cref="DisarmSendTimeout"/>).
    /// </summary>
    internal async ValueTask SendAsync(ReadOnlyMemory<byte> frame, WebSocketMessageType messageType = WebSocketMessageType.Text)
    {
        if (!_sendTimeoutArmed)
        {
            _sendTimer.Change(_options.SendTimeout, Timeout.InfiniteTimeSpan);
            _sendTimeoutArmed = true;
        }

        await _socket.SendAsync(frame, messageType, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
        _framesSentPending++;
    }

    /// <summary>Stops the burst's send timer, if armed.</summary>
    private void DisarmSendTimeout()
    {
        if (_sendTimeoutArmed)
        {
            _sendTimeoutArmed = false;
            _sendTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Fails a send that made no progress: aborting the WebSocket alone does not complete a write Kestrel holds on a
    /// full transport, aborting the connection does.
    /// </summary>
    private void AbortStuckSend()
    {
        _sendTimedOut = true;
        _socket.Abort();
        HttpContext.Abort();
    }

    /// <summary>Adds the frames counted since the last call to the shared counters.</summary>
    private void FlushCounters()
    {
        if (_framesSentPending > 0)
        {
            _metrics.FramesSent.Add(_framesSentPending);
            _framesSentPending = 0;
        }

        _postgres.FlushCounters();
    }

    /// <summary>Stops the send timer after a send completed; a source whose timer cannot be stopped for sure is replaced.</summary>
    private void ResetSendTimeout()
    {
        if (!_sendTimeout.TryReset())
        {
            _sendTimeout.Dispose();
            _sendTimeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        }
    }
}
