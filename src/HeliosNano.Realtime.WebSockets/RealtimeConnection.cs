using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One client's WebSocket: a receive loop that parses and limits inbound messages, and one connection loop that owns
/// every piece of state (channels, the change reader) and is the only sender, so replies, system messages and
/// changes go out through one serialized path in a well-defined order.
/// </summary>
/// <remarks>
/// <para>
/// The connection reads the notifier's ring through one <see cref="ChangeReader"/> whose filter is the union of its
/// channels' tables, so every channel sees changes in commit order and a slow socket shows up as ring lag (reported to
/// the client), never as an unbounded queue. Inbound messages go through a small bounded channel, so a client that
/// floods faster than the server answers is slowed by TCP back-pressure, not buffered.
/// </para>
/// <para>
/// A change's <c>data</c> JSON is <see cref="ChangeEvent.GetUtf8Json"/>: serialized once and shared by every
/// connection. Per connection a frame is the channel's precomputed envelope, the matching binding ids, that shared
/// <c>data</c> and (with <see cref="RealtimeWebSocketOptions.MirrorFlatFields"/>) the same bytes without their outer
/// braces, then <c>"seq":N</c>: byte copies only.
/// </para>
/// </remarks>
internal sealed partial class RealtimeConnection : IDisposable
{
    /// <summary>Every routed topic starts with this.</summary>
    public const string TopicPrefix = "realtime:";

    /// <summary>Inbound messages waiting for the connection loop; small because each is answered in microseconds.</summary>
    private const int InboundQueueCapacity = 32;

    /// <summary>Changes handled in a row before inbound messages get a turn, so heartbeats are answered during bursts.</summary>
    private const int ChangeBatch = 64;

    private static readonly JsonEncodedText s_phxReply = JsonEncodedText.Encode("phx_reply");
    private static readonly JsonEncodedText s_phxClose = JsonEncodedText.Encode("phx_close");
    private static readonly JsonEncodedText s_phxError = JsonEncodedText.Encode("phx_error");
    private static readonly JsonEncodedText s_system = JsonEncodedText.Encode("system");
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText s_response = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText s_reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText s_extension = JsonEncodedText.Encode("extension");
    private static readonly JsonEncodedText s_message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText s_channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText s_postgresChanges = JsonEncodedText.Encode("postgres_changes");
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_missed = JsonEncodedText.Encode("missed");
    private static readonly JsonEncodedText s_resumeSeq = JsonEncodedText.Encode("resume_seq");

    private readonly WebSocket _socket;
    private readonly HttpContext _httpContext;
    private readonly RealtimeWebSocketOptions _options;
    private readonly ChangeNotifier _notifier;
    private readonly RealtimeWebSocketMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly string _id;
    private readonly PhoenixFrameWriter _frames;
    private readonly Channel<InboundItem> _inbound;
    private readonly Dictionary<string, RealtimeChannel> _channels = new(StringComparer.Ordinal);
    private readonly List<RealtimeChannel> _channelOrder = [];
    private readonly List<(long Resume, long Missed)> _pendingLags = [];
    private readonly List<int> _ids = [];

    /// <summary>
    /// Cancelled to wake the connection loop's idle wait for an inbound message, the end of the receive loop or a close
    /// request; replaced after each use. The common wake (a change) needs no allocation: the loop awaits the reader's
    /// <see cref="ChangeReader.WaitToReadAsync"/> directly with this token.
    /// </summary>
    private CancellationTokenSource _wake = new();

    /// <summary>Stops the receive loop once the connection loop is done, even if it waits on a full inbound queue.</summary>
    private readonly CancellationTokenSource _stopReceiving = new();
    /// <summary>Bounds the close handshake's send.</summary>
    private CancellationTokenSource _sendTimeout;

    /// <summary>
    /// Armed at the first send of a burst (one pass of the connection loop: inbound replies plus at most
    /// <see cref="ChangeBatch"/> changes) and stopped when the pass ends; when it fires it aborts the connection, which
    /// fails the pending send. Sends pass no token, so each frame pays neither a timer update nor a token registration.
    /// </summary>
    private readonly ITimer _sendTimer;
    private bool _sendTimeoutArmed;
    private volatile bool _sendTimedOut;
    private readonly ITimer _idleTimer;
    private ChangeReader _reader;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;
    private string _closeReason = string.Empty;
    private int _closeRequestedFlag;

    /// <summary>Frames sent / change frames built since the last <see cref="FlushCounters"/>; only the connection loop touches them.</summary>
    private long _framesSentPending;
    private long _changeFramesPending;

    public RealtimeConnection(
        WebSocket socket,
        HttpContext httpContext,
        RealtimeWebSocketOptions options,
        ChangeNotifier notifier,
        RealtimeWebSocketMetrics metrics,
        ILogger logger,
        TimeProvider timeProvider,
        bool arrayFormat,
        string id)
    {
        _socket = socket;
        _httpContext = httpContext;
        _options = options;
        _notifier = notifier;
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
        _reader = Subscribe(null);
    }

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
            await CloseAsync(receive).ConfigureAwait(false);
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
            _reader.Dispose();
            _metrics.Channels.Add(-_channels.Count);
            _channels.Clear();
            _channelOrder.Clear();
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
        _reader.Dispose();
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

    /// <summary>Wakes the connection loop's idle wait (it re-checks inbound messages and close requests). Thread-safe.</summary>
    private void Wake()
    {
        // Full fence: the state change made before this call (an enqueued message, the close flag) must be visible
        // before we read _wake, pairing with the loop's fenced swap in RenewWake (store-load ordering).
        Interlocked.MemoryBarrier();
        try
        {
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

    private void OnIdle()
    {
        Log.IdleTimeout(_logger, _id, _options.IdleTimeout);
        RequestClose(WebSocketCloseStatus.NormalClosure, "idle timeout");
    }

    private ChangeReader Subscribe(long? startAfter) => _notifier.Subscribe(new ChangeSubscriptionOptions
    {
        Filter = BuildFilter(),
        StartAfterSequence = startAfter,
        Name = _id,
        OnLagged = OnLagged,
    });

    private void OnLagged(ChangeReader reader, long missed)
    {
        // Called on the connection loop from inside TryRead; the reader's cursor already sits at the resume point.
        _pendingLags.Add((reader.NextSequence, missed));
    }

    private ChangeFilter BuildFilter()
    {
        var entries = new HashSet<TableFilter>();
        foreach (RealtimeChannel channel in _channelOrder)
        {
            foreach (PostgresBinding binding in channel.Bindings)
            {
                entries.Add(binding.ToTableFilter());
            }
        }

        return entries.Count == 0 ? ChangeFilter.None : ChangeFilter.Create(entries);
    }

    private async Task ConnectionLoopAsync()
    {
        while (!IsCloseRequested)
        {
            bool worked = false;
            while (_inbound.Reader.TryRead(out InboundItem? item))
            {
                worked = true;
                await HandleInboundAsync(item).ConfigureAwait(false);
                if (IsCloseRequested)
                {
                    return;
                }
            }

            for (int i = 0; i < ChangeBatch; i++)
            {
                bool read = _reader.TryRead(out ChangeEvent? change);
                if (_pendingLags.Count > 0)
                {
                    await ReportLagAsync().ConfigureAwait(false);
                }

                if (!read)
                {
                    break;
                }

                worked = true;
                await DeliverAsync(change!).ConfigureAwait(false);
            }

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

            if (IsCloseRequested || _inbound.Reader.TryPeek(out _))
            {
                continue;
            }

            bool open;
            try
            {
                // The common wake-up (a change arrived) completes this ValueTask without allocating.
                open = await _reader.WaitToReadAsync(wake.Token).ConfigureAwait(false);
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

    private async Task ReceiveLoopAsync()
    {
        // No buffer is held while the client is quiet: between messages the loop waits with a zero-byte receive
        // (ManagedWebSocket completes it when a frame arrives) and rents only when data is there.
        byte[]? buffer = null;
        bool dataReady = false;
        int count = 0;
        bool discarding = false;
        long windowStart = _timeProvider.GetTimestamp();
        int windowCount = 0;
        try
        {
            while (true)
            {
                if (count == 0 && buffer is not null && !discarding)
                {
                    // A message boundary: give the buffer back before waiting again.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    dataReady = false;
                }

                Memory<byte> target;
                if (buffer is null && !dataReady)
                {
                    target = Memory<byte>.Empty;
                }
                else
                {
                    buffer ??= ArrayPool<byte>.Shared.Rent(4096);
                    if (count == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _options.MaxInboundMessageBytes + 1));
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    target = buffer.AsMemory(count);
                }

                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(target, _stopReceiving.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (target.IsEmpty && result.Count == 0 && !result.EndOfMessage)
                {
                    // The zero-byte wait completed: a frame is there, read it into a rented buffer.
                    dataReady = true;
                    continue;
                }

                _idleTimer.Change(_options.IdleTimeout, Timeout.InfiniteTimeSpan);
                count += result.Count;
                if (discarding)
                {
                    count = 0;
                    continue;
                }

                if (count > _options.MaxInboundMessageBytes)
                {
                    Log.MessageTooBig(_logger, _id, _options.MaxInboundMessageBytes);
                    _metrics.DroppedMessages.Add(1);
                    RequestClose(WebSocketCloseStatus.MessageTooBig, "message too big");
                    discarding = true;
                    count = 0;
                    continue;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                int length = count;
                count = 0;

                // Rate limit: a fixed one-second window on the server's clock.
                if (_timeProvider.GetElapsedTime(windowStart) >= TimeSpan.FromSeconds(1))
                {
                    windowStart = _timeProvider.GetTimestamp();
                    windowCount = 0;
                }

                if (++windowCount > _options.MaxInboundMessagesPerSecond)
                {
                    _metrics.DroppedMessages.Add(1);
                    if (windowCount == _options.MaxInboundMessagesPerSecond + 1)
                    {
                        Log.RateLimited(_logger, _id, _options.MaxInboundMessagesPerSecond);
                        await _inbound.Writer.WriteAsync(InboundItem.RateLimited, _stopReceiving.Token).ConfigureAwait(false);
                        Wake();
                    }

                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    Log.BinaryMessageDropped(_logger, length, _id);
                    _metrics.DroppedMessages.Add(1);
                    continue;
                }

                byte[] message = buffer is null ? [] : buffer.AsSpan(0, length).ToArray();
                PhoenixMessage? parsed = PhoenixMessage.TryParse(message, _frames.ArrayFormat, out string? error, out string? errorRef, out string? errorTopic);
                if (parsed is null)
                {
                    Log.MalformedMessage(_logger, _id, error!);
                    _metrics.DroppedMessages.Add(1);
                    if (errorRef is not null && errorTopic is not null)
                    {
                        await _inbound.Writer.WriteAsync(new InboundItem(null, error, errorRef, errorTopic), _stopReceiving.Token).ConfigureAwait(false);
                        Wake();
                    }

                    continue;
                }

                try
                {
                    await _inbound.Writer.WriteAsync(new InboundItem(parsed, null, null, null), _stopReceiving.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    parsed.Dispose();
                    throw;
                }

                Wake();
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            _inbound.Writer.TryComplete();
            Wake();
            while (_inbound.Reader.TryRead(out InboundItem? left))
            {
                left.Message?.Dispose();
            }
        }
    }

    private async ValueTask HandleInboundAsync(InboundItem item)
    {
        if (item.IsRateLimited)
        {
            await CloseAllChannelsAsync("Too many messages per second").ConfigureAwait(false);
            return;
        }

        if (item.Message is not PhoenixMessage message)
        {
            await ReplyErrorAsync(null, item.Ref, item.Topic!, "MalformedWebSocketMessage: " + item.Error).ConfigureAwait(false);
            return;
        }

        using (message)
        {
            switch (message.Event)
            {
                case "heartbeat" when message.Topic == "phoenix":
                    await ReplyOkAsync(null, message.Ref, message.Topic).ConfigureAwait(false);
                    break;
                case "phx_join":
                    await JoinAsync(message).ConfigureAwait(false);
                    break;
                case "phx_leave":
                    await LeaveAsync(message).ConfigureAwait(false);
                    break;
                case "access_token":
                    // Accepted without reply, as Supabase: the token only matters at the next join.
                    break;
                default:
                    if (!_channels.ContainsKey(message.Topic))
                    {
                        await ReplyErrorAsync(null, message.Ref, message.Topic, "unmatched topic").ConfigureAwait(false);
                    }
                    else if (message.Ref is not null)
                    {
                        await ReplyErrorAsync(message.JoinRef, message.Ref, message.Topic, $"UnsupportedEvent: this server does not handle '{message.Event}'").ConfigureAwait(false);
                    }

                    break;
            }
        }
    }

    private async ValueTask JoinAsync(PhoenixMessage message)
    {
        string topic = message.Topic;
        string? joinRef = message.JoinRef ?? message.Ref;
        if (!topic.StartsWith(TopicPrefix, StringComparison.Ordinal))
        {
            await RefuseJoinAsync(message, null, "unmatched topic").ConfigureAwait(false);
            return;
        }

        string name = topic[TopicPrefix.Length..];
        if (name.Length == 0)
        {
            await RefuseJoinAsync(message, joinRef, "TopicNameRequired: You must provide a topic name").ConfigureAwait(false);
            return;
        }

        bool replacing = _channels.ContainsKey(topic);
        if (!replacing && _channels.Count >= _options.MaxChannelsPerConnection)
        {
            await RefuseJoinAsync(message, joinRef, "ChannelRateLimitReached: Too many channels").ConfigureAwait(false);
            return;
        }

        JsonElement payload = message.Payload;
        string? accessToken = null;
        JsonElement config = default;
        if (payload.ValueKind == JsonValueKind.Object)
        {
            accessToken = GetString(payload, "access_token") ?? GetString(payload, "user_token");
            payload.TryGetProperty("config"u8, out config);
        }

        bool hasConfig = config.ValueKind != JsonValueKind.Undefined;
        var specs = new List<BindingSpec>();
        if (hasConfig)
        {
            if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("postgres_changes"u8, out JsonElement list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement element in list.EnumerateArray())
                {
                    specs.Add(BindingSpec.FromElement(element));
                }
            }
        }
        else
        {
            specs.Add(BindingSpec.FromTopic(name, _notifier));
        }

        // Set the bindings up (parse filters, check tables and columns), then authorize them all before any state changes.
        var active = new List<PostgresBinding>();
        var errors = new List<string>();
        foreach (BindingSpec spec in specs)
        {
            if (spec.Error is not null)
            {
                errors.Add(spec.Error);
                continue;
            }

            if (spec.Binding is not PostgresBinding binding)
            {
                continue;
            }

            string? problem = CheckTable(binding);
            if (problem is not null)
            {
                errors.Add(problem);
                continue;
            }

            if (_options.AuthorizeJoin is { } authorize)
            {
                var context = new RealtimeJoinContext(_httpContext, topic, binding.EventName, binding.Schema, binding.Table, binding.FilterText, accessToken);
                bool allowed;
                try
                {
                    allowed = await authorize(context).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failing host callback refuses this join; it never takes the connection down.
                    Log.AuthorizationFailed(_logger, topic, _id, e);
                    allowed = false;
                }

                if (!allowed)
                {
                    await RefuseJoinAsync(message, joinRef, $"Unauthorized: You do not have permissions to read from this table: {binding.Schema}.{binding.Table}").ConfigureAwait(false);
                    return;
                }
            }

            active.Add(binding);
        }

        if (replacing)
        {
            // Re-joining replaces the old join (the client does this after an error or timeout).
            RemoveChannel(_channels[topic]);
        }

        var channel = new RealtimeChannel(topic, joinRef, [.. active], _frames.ArrayFormat);
        _channels.Add(topic, channel);
        _channelOrder.Add(channel);
        _metrics.Channels.Add(1);

        // The subscription is live before the reply: the filter is in force, then the tail is read, so every change
        // committed after the reply has a sequence above StartAfter and reaches this channel.
        _reader.SetFilter(BuildFilter());
        long tail = _notifier.LastSequence;
        channel.StartAfter = tail;
        if (hasConfig && TryGetLastSequence(config, out long lastSeen))
        {
            StartReplay(channel, lastSeen, tail);
        }

        Log.Joined(_logger, _id, topic, active.Count, channel.StartAfter);

        Utf8JsonWriter w = _frames.Begin(joinRef, message.Ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "ok");
        w.WriteStartObject(s_response);
        if (hasConfig)
        {
            w.WriteStartArray(s_postgresChanges);
            foreach (BindingSpec spec in specs)
            {
                spec.WriteEcho(w);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);

        foreach (string error in errors)
        {
            await SendSystemAsync(channel, "postgres_changes", "error", error).ConfigureAwait(false);
        }

        if (active.Count > 0)
        {
            await SendSystemAsync(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Positions <paramref name="channel"/> to receive the retained changes after <paramref name="lastSeen"/>. When the
    /// connection's cursor is already past that point, the reader is replaced by one that starts there (registered
    /// before the old one leaves, so subscriber counts never dip), and the other channels skip what they already had.
    /// </summary>
    private void StartReplay(RealtimeChannel channel, long lastSeen, long tail)
    {
        Log.Replay(_logger, _id, lastSeen, channel.Topic);
        long processed = _reader.NextSequence - 1;
        if (lastSeen < processed)
        {
            foreach (RealtimeChannel other in _channelOrder)
            {
                other.StartAfter = Math.Max(other.StartAfter, processed);
            }

            ChangeReader old = _reader;
            _reader = Subscribe(Math.Max(0, lastSeen));
            old.Dispose();
        }

        channel.StartAfter = Math.Clamp(lastSeen, 0, tail);
    }

    private string? CheckTable(PostgresBinding binding)
    {
        if (binding.Table == TableFilter.Wildcard || _options.AllowUnknownTables)
        {
            return null;
        }

        ChangeTable? table = null;
        foreach (ChangeTable candidate in _notifier.Tables)
        {
            if (string.Equals(candidate.Name, binding.Table, StringComparison.Ordinal)
                && (binding.Schema == TableFilter.Wildcard || string.Equals(candidate.Schema, binding.Schema, StringComparison.Ordinal)))
            {
                table = candidate;
                break;
            }
        }

        if (table is null)
        {
            return "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: "
                + $"[event: {binding.EventName}, schema: {binding.Schema}, table: {binding.Table}, filters: [{binding.FilterText}]]";
        }

        if (binding.Filter is RowFilter filter && table.Columns.Count > 0)
        {
            foreach (string column in filter.Columns)
            {
                if (!table.Columns.Any(c => string.Equals(c.Name, column, StringComparison.Ordinal)))
                {
                    return $"invalid column for filter {column}";
                }
            }
        }

        return null;
    }

    private async ValueTask LeaveAsync(PhoenixMessage message)
    {
        _channels.TryGetValue(message.Topic, out RealtimeChannel? channel);
        if (channel is not null)
        {
            RemoveChannel(channel);
            _reader.SetFilter(BuildFilter());
        }

        await ReplyOkAsync(message.JoinRef, message.Ref, message.Topic).ConfigureAwait(false);
        if (channel is not null)
        {
            await SendCloseAsync(channel).ConfigureAwait(false);
        }
    }

    private void RemoveChannel(RealtimeChannel channel)
    {
        _channels.Remove(channel.Topic);
        _channelOrder.Remove(channel);
        _metrics.Channels.Add(-1);
    }

    private async ValueTask CloseAllChannelsAsync(string reason)
    {
        RealtimeChannel[] channels = [.. _channelOrder];
        foreach (RealtimeChannel channel in channels)
        {
            RemoveChannel(channel);
        }

        _reader.SetFilter(BuildFilter());
        foreach (RealtimeChannel channel in channels)
        {
            await SendSystemAsync(channel, "system", "error", reason).ConfigureAwait(false);
            await SendCloseAsync(channel).ConfigureAwait(false);
        }
    }

    private async ValueTask DeliverAsync(ChangeEvent change)
    {
        // Index loop: a crashing channel is removed from the list while we walk it.
        for (int c = 0; c < _channelOrder.Count; c++)
        {
            RealtimeChannel channel = _channelOrder[c];
            if (change.Sequence <= channel.StartAfter)
            {
                continue;
            }

            _ids.Clear();
            try
            {
                foreach (PostgresBinding binding in channel.Bindings)
                {
                    if (binding.Matches(change))
                    {
                        _ids.Add(binding.Id);
                    }
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ChannelCrashed(_logger, channel.Topic, _id, e);
                RemoveChannel(channel);
                _reader.SetFilter(BuildFilter());
                c--;
                Utf8JsonWriter w = _frames.Begin(channel.JoinRef, channel.JoinRef, channel.Topic, s_phxError);
                w.WriteStartObject();
                w.WriteString(s_reason, "channel_crash");
                w.WriteEndObject();
                await SendAsync(_frames.End()).ConfigureAwait(false);
                continue;
            }

            if (_ids.Count == 0)
            {
                continue;
            }

            await SendAsync(BuildChangeFrame(channel, change)).ConfigureAwait(false);
        }
    }

    /// <summary>Builds <c>{"ids":[…],"data":DATA[,FLAT],"seq":N}</c> inside the channel's envelope, by copying bytes.</summary>
    private ReadOnlyMemory<byte> BuildChangeFrame(RealtimeChannel channel, ChangeEvent change)
    {
        ReadOnlySpan<byte> data = _metrics.OnChangePayloadUsed(change).Span;
        _changeFramesPending++;
        _frames.BeginRaw(channel.Prefix);
        IBufferWriter<byte> buffer = _frames.Buffer;
        buffer.Write("{\"ids\":["u8);
        for (int i = 0; i < _ids.Count; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            WriteNumber(buffer, _ids[i]);
        }

        buffer.Write("],\"data\":"u8);
        buffer.Write(data);
        if (_options.MirrorFlatFields && data.Length > 2)
        {
            buffer.Write(","u8);
            buffer.Write(data[1..^1]);
        }

        buffer.Write(",\"seq\":"u8);
        WriteNumber(buffer, change.Sequence);
        buffer.Write("}"u8);
        return _frames.EndRaw(channel.Suffix);
    }

    private static void WriteNumber(IBufferWriter<byte> buffer, long value)
    {
        Span<byte> span = buffer.GetSpan(20);
        bool ok = value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture);
        System.Diagnostics.Debug.Assert(ok);
        buffer.Advance(written);
    }

    private async ValueTask ReportLagAsync()
    {
        (long Resume, long Missed)[] lags = [.. _pendingLags];
        _pendingLags.Clear();
        foreach ((long resume, long missed) in lags)
        {
            Log.ClientLagged(_logger, missed, _id, resume);
            _metrics.LaggedChanges.Add(missed);
            long firstMissed = resume - missed;
            foreach (RealtimeChannel channel in _channelOrder.ToArray())
            {
                // Only the part of the gap this channel would have received counts (a replaying channel may start earlier than the others).
                long relevant = resume - Math.Max(firstMissed, channel.StartAfter + 1);
                if (relevant <= 0)
                {
                    continue;
                }

                Utf8JsonWriter w = _frames.Begin(channel.JoinRef, null, channel.Topic, s_system);
                w.WriteStartObject();
                w.WriteString(s_extension, "postgres_changes");
                w.WriteString(s_status, "error");
                w.WriteString(s_message, $"WS client lagged by {relevant} events: they were overwritten before this connection could send them; resync");
                w.WriteString(s_channel, channel.Name);
                w.WriteNumber(s_missed, relevant);
                w.WriteNumber(s_resumeSeq, resume);
                w.WriteEndObject();
                await SendAsync(_frames.End()).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask RefuseJoinAsync(PhoenixMessage message, string? joinRef, string reason)
    {
        Log.JoinRefused(_logger, message.Topic, _id, reason);
        _metrics.RefusedJoins.Add(1);
        await ReplyErrorAsync(joinRef, message.Ref, message.Topic, reason).ConfigureAwait(false);
    }

    private async ValueTask ReplyOkAsync(string? joinRef, string? @ref, string topic)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "ok");
        w.WriteStartObject(s_response);
        w.WriteEndObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    private async ValueTask ReplyErrorAsync(string? joinRef, string? @ref, string topic, string reason)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "error");
        w.WriteStartObject(s_response);
        w.WriteString(s_reason, reason);
        w.WriteEndObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    private async ValueTask SendSystemAsync(RealtimeChannel channel, string extension, string status, string message)
    {
        Utf8JsonWriter w = _frames.Begin(channel.JoinRef, null, channel.Topic, s_system);
        w.WriteStartObject();
        w.WriteString(s_extension, extension);
        w.WriteString(s_status, status);
        w.WriteString(s_message, message);
        w.WriteString(s_channel, channel.Name);
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    private async ValueTask SendCloseAsync(RealtimeChannel channel)
    {
        Utf8JsonWriter w = _frames.Begin(channel.JoinRef, channel.JoinRef, channel.Topic, s_phxClose);
        w.WriteStartObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    /// <summary>
    /// The one send path: one text frame per message; the burst it belongs to is bounded by
    /// <see cref="RealtimeWebSocketOptions.SendTimeout"/> (armed here once, stopped by <see cref="DisarmSendTimeout"/>).
    /// </summary>
    private async ValueTask SendAsync(ReadOnlyMemory<byte> frame)
    {
        if (!_sendTimeoutArmed)
        {
            _sendTimer.Change(_options.SendTimeout, Timeout.InfiniteTimeSpan);
            _sendTimeoutArmed = true;
        }

        await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
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
        _httpContext.Abort();
    }

    /// <summary>Adds the frames counted since the last call to the shared counters.</summary>
    private void FlushCounters()
    {
        if (_framesSentPending > 0)
        {
            _metrics.FramesSent.Add(_framesSentPending);
            _framesSentPending = 0;
        }

        if (_changeFramesPending > 0)
        {
            _metrics.ChangeFramesBuilt.Add(_changeFramesPending);
            _changeFramesPending = 0;
        }
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

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Reads the replay point a client may pass when it joins: the <c>seq</c> of the last change frame it received, as
    /// <c>config.postgres_changes_options.last_seq</c> (the one config object supabase-js forwards verbatim:
    /// <c>supabase.channel(name, { config: { postgres_changes_options: { last_seq } } })</c>) or
    /// <c>config.heliosnano.last_seq</c>; a number or a string of digits.
    /// </summary>
    private static bool TryGetLastSequence(JsonElement config, out long lastSeen)
    {
        lastSeen = 0;
        if (config.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (string holder in (ReadOnlySpan<string>)["postgres_changes_options", "heliosnano"])
        {
            if (config.TryGetProperty(holder, out JsonElement options) && options.ValueKind == JsonValueKind.Object
                && options.TryGetProperty("last_seq"u8, out JsonElement value))
            {
                return value.ValueKind switch
                {
                    JsonValueKind.Number => value.TryGetInt64(out lastSeen) && lastSeen >= 0,
                    JsonValueKind.String => long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out lastSeen),
                    _ => false,
                };
            }
        }

        return false;
    }

    /// <summary>An inbound message for the connection loop, or a note from the receive loop.</summary>
    private sealed record InboundItem(PhoenixMessage? Message, string? Error, string? Ref, string? Topic)
    {
        public static readonly InboundItem RateLimited = new(null, null, null, null) { IsRateLimited = true };

        public bool IsRateLimited { get; private init; }
    }
}
