namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Per-connection limits and behaviour of the realtime WebSocket endpoint mapped by
/// <see cref="RealtimeEndpointRouteBuilderExtensions.MapHeliosRealtime"/>.
/// </summary>
/// <remarks>
/// Every limit has a clear outcome that never affects other connections: a join beyond
/// <see cref="MaxChannelsPerConnection"/> gets an error reply; an inbound message larger than
/// <see cref="MaxInboundMessageBytes"/> closes the socket with 1009 (message too big); more than
/// <see cref="MaxInboundMessagesPerSecond"/> messages in one second end every channel of the connection with a
/// <c>system</c> error and <c>phx_close</c>, then close the socket with 1008 (<c>Too many messages per second</c>); <see cref="IdleTimeout"/> without any inbound message closes the socket
/// with 1000 (<c>idle timeout</c>); a burst of sends that does not finish within <see cref="SendTimeout"/> aborts the socket.
/// </remarks>
public sealed class RealtimeWebSocketOptions
{
    /// <summary>The default of <see cref="MaxChannelsPerConnection"/>: 100, as Supabase's <c>max_channels_per_client</c>.</summary>
    public const int DefaultMaxChannelsPerConnection = 100;

    /// <summary>The default of <see cref="MaxInboundMessageBytes"/>: 1 MiB, far above any join a client sends.</summary>
    public const int DefaultMaxInboundMessageBytes = 1024 * 1024;

    /// <summary>The default of <see cref="MaxInboundMessagesPerSecond"/>: 100, as Supabase's <c>max_events_per_second</c>.</summary>
    public const int DefaultMaxInboundMessagesPerSecond = 100;

    /// <summary>The default of <see cref="MaxJoinPayloadBytes"/>: 16 KiB, far above a supabase-js join with a token and a few bindings.</summary>
    public const int DefaultMaxJoinPayloadBytes = 16 * 1024;

    /// <summary>The default of <see cref="MaxBindingsPerChannel"/>: 100.</summary>
    public const int DefaultMaxBindingsPerChannel = 100;

    /// <summary>The default of <see cref="MaxFilterLength"/>: 4,096 characters (an <c>in</c> list of 100 uuids fits).</summary>
    public const int DefaultMaxFilterLength = 4096;

    /// <summary>The default of <see cref="MaxFilterConditions"/>: 10 (Supabase itself takes one).</summary>
    public const int DefaultMaxFilterConditions = 10;

    /// <summary>The default of <see cref="MaxFilterConditionsPerConnection"/>: 1,000.</summary>
    public const int DefaultMaxFilterConditionsPerConnection = 1000;

    /// <summary>
    /// The default of <see cref="MaxPresenceCallsPerWindow"/>: 10 per <see cref="PresenceCallWindow"/> (Supabase allows
    /// 5 per channel in 30 seconds; ours counts every channel of the socket, so it allows a few more).
    /// </summary>
    public const int DefaultMaxPresenceCallsPerWindow = 10;

    /// <summary>The default of <see cref="MaxConnections"/>: 10,000 (the adapter's load test soaked 10,000 connections).</summary>
    public const int DefaultMaxConnections = 10_000;

    /// <summary>
    /// Gets or sets the largest <c>phx_join</c> message, in bytes; a larger join is refused with
    /// <c>{"reason":"PayloadTooLarge: …"}</c>. Separate from <see cref="MaxInboundMessageBytes"/> because what a join
    /// holds stays in memory for the channel's lifetime. The default is 16 KiB.
    /// </summary>
    public int MaxJoinPayloadBytes { get; set; } = DefaultMaxJoinPayloadBytes;

    /// <summary>
    /// Gets or sets how many <c>postgres_changes</c> bindings one join may carry; more refuses the join with
    /// <c>{"reason":"TooManyBindings: …"}</c>. The default is 100.
    /// </summary>
    public int MaxBindingsPerChannel { get; set; } = DefaultMaxBindingsPerChannel;

    /// <summary>
    /// Gets or sets the longest row filter, in characters; a longer one gets the binding's
    /// <c>Error parsing `filter` params</c> system error. The default is 4,096.
    /// </summary>
    public int MaxFilterLength { get; set; } = DefaultMaxFilterLength;

    /// <summary>
    /// Gets or sets how many comma-joined conditions one row filter may have; more gets the binding's
    /// <c>Error parsing `filter` params</c> system error. The default is 10.
    /// </summary>
    public int MaxFilterConditions { get; set; } = DefaultMaxFilterConditions;

    /// <summary>
    /// Gets or sets the per-change evaluation budget of one connection: how many filter conditions all its channels'
    /// bindings may hold together (each value of an <c>in</c> list counts as one). A join that would go past it is
    /// refused with <c>{"reason":"FilterBudgetExceeded: …"}</c>, so the work one change costs a connection is bounded
    /// when the client joins, not while changes flow. The default is 1,000.
    /// </summary>
    public int MaxFilterConditionsPerConnection { get; set; } = DefaultMaxFilterConditionsPerConnection;

    /// <summary>
    /// Gets or sets how many WebSocket connections the endpoint holds at once; an upgrade beyond it is refused with
    /// HTTP 429 and <c>{"error":"Too many connected users"}</c>, as Supabase does. The default is 10,000.
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>
    /// Gets the origins (<c>scheme://host[:port]</c>, compared case-insensitively) a browser page must come from to
    /// open the socket, with the semantics of ASP.NET's <c>WebSocketOptions.AllowedOrigins</c>: empty allows any
    /// origin, otherwise a handshake whose <c>Origin</c> header is present and not listed is refused with 403 and
    /// <c>{"error":"Origin not allowed"}</c> before the upgrade. The default is empty; see <see cref="ValidateOrigin"/>.
    /// </summary>
    /// <remarks>
    /// CORS (<c>RequireCors</c>) does not protect a WebSocket: browsers send cookies on a cross-site handshake and apply
    /// no CORS to it. With cookie authentication, an origin check is what stops another site from reading the
    /// signed-in user's changes (cross-site WebSocket hijacking).
    /// </remarks>
    public IList<string> AllowedOrigins { get; private set; } = [];

    /// <summary>
    /// Gets or sets whether the <c>Origin</c> of a handshake is checked when <see cref="AllowedOrigins"/> is empty: then
    /// only same-origin pages (the request's own scheme and host) may open the socket. <see langword="null"/> (the
    /// default) checks when the host registers cookie authentication; <see langword="true"/> always checks;
    /// <see langword="false"/> never checks an empty list. A non-empty <see cref="AllowedOrigins"/> is always enforced.
    /// </summary>
    public bool? ValidateOrigin { get; set; }

    /// <summary>The default of <see cref="MaxBroadcastPayloadBytes"/>: 256,000 bytes, as Supabase's Free plan (256 KB).</summary>
    public const int DefaultMaxBroadcastPayloadBytes = 256_000;

    /// <summary>
    /// Gets or sets the largest broadcast payload, in bytes (the user payload's JSON, or its raw bytes for a binary
    /// push); a larger one is not sent, and a channel joined with <c>config.broadcast.ack</c> gets
    /// <c>{"status":"error","response":"payload_size_exceeded"}</c>, as on Supabase. It cannot exceed
    /// <see cref="MaxInboundMessageBytes"/> in effect. The default is 256,000.
    /// </summary>
    public int MaxBroadcastPayloadBytes { get; set; } = DefaultMaxBroadcastPayloadBytes;

    /// <summary>The default of <see cref="MaxQueuedTopicMessages"/>: 1,024 (the ring's size for changes).</summary>
    public const int DefaultMaxQueuedTopicMessages = 1024;

    /// <summary>
    /// Gets or sets how many broadcast and presence messages may wait for one connection's socket. A connection whose
    /// client reads so slowly that more pile up is closed with 1008 and the reason <c>too slow: message queue full</c>
    /// (the client reconnects), so one slow socket holds bounded memory and never delays the others. The default is 1,024.
    /// </summary>
    public int MaxQueuedTopicMessages { get; set; } = DefaultMaxQueuedTopicMessages;

    /// <summary>
    /// Gets or sets how many presence calls (<c>track</c> and <c>untrack</c> pushes, on all its channels) one connection
    /// may make within <see cref="PresenceCallWindow"/>. The call past it gets no reply: its channel receives the
    /// <c>system</c> error <c>Client presence rate limit exceeded</c> and <c>phx_close</c>, as on Supabase, and what it
    /// tracked leaves. The default is 10.
    /// </summary>
    public int MaxPresenceCallsPerWindow { get; set; } = DefaultMaxPresenceCallsPerWindow;

    /// <summary>Gets or sets the window <see cref="MaxPresenceCallsPerWindow"/> counts in (a fixed window on the server's clock). The default is 30 seconds.</summary>
    public TimeSpan PresenceCallWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many channels (topics) one connection may join at once. The default is 100.</summary>
    public int MaxChannelsPerConnection { get; set; } = DefaultMaxChannelsPerConnection;

    /// <summary>Gets or sets the largest inbound message, in bytes, after joining its frames. The default is 1 MiB.</summary>
    public int MaxInboundMessageBytes { get; set; } = DefaultMaxInboundMessageBytes;

    /// <summary>
    /// Gets or sets how many inbound messages one connection may send per second; past it every channel gets a
    /// <c>system</c> error and <c>phx_close</c> and the socket is closed with 1008. The default is 100.
    /// </summary>
    public int MaxInboundMessagesPerSecond { get; set; } = DefaultMaxInboundMessagesPerSecond;

    /// <summary>
    /// Gets or sets how long a connection may stay without sending any message before it is closed. The default is
    /// 60 seconds, as Phoenix (clients send a heartbeat every 25 to 30 seconds).
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets how long one burst of outbound frames (what one pass of the connection loop sends: replies and at
    /// most 64 changes) may take to send before the socket is aborted. The default is 30 seconds.
    /// </summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long the server waits for the client's close frame after sending its own. The default is 5 seconds.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets a value indicating whether change frames also carry the <c>data</c> fields flat at the top of the
    /// payload (<c>payload.type</c>, <c>payload.record</c>, …) for hand-written clients, besides the Supabase
    /// <c>{ids, data}</c> wrapper that supabase-js reads. The default is <see langword="true"/>.
    /// </summary>
    public bool MirrorFlatFields { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether a binding may name a table the notifier does not know yet (one never
    /// passed to <see cref="ChangeNotifier.GetTable"/>). When <see langword="false"/> (the default) such a binding gets
    /// a <c>system</c> error, as on Supabase, and receives nothing.
    /// </summary>
    public bool AllowUnknownTables { get; set; }

    /// <summary>
    /// Gets or sets a callback that decides, per binding of each join, whether the client may read that table.
    /// Returning <see langword="false"/> refuses the whole join with <c>{"reason":"Unauthorized: …"}</c>. The default
    /// is <see langword="null"/>: every table is readable.
    /// </summary>
    public Func<RealtimeJoinContext, ValueTask<bool>>? AuthorizeJoin { get; set; }

    /// <summary>
    /// Gets how tokens are validated and channels and rows authorized: the authentication scheme, Supabase's claim
    /// rules, channel policies and row-level policies. See <see cref="RealtimeAuthOptions"/>.
    /// </summary>
    public RealtimeAuthOptions Auth { get; private set; } = new();

    internal RealtimeWebSocketOptions Clone()
    {
        var clone = (RealtimeWebSocketOptions)MemberwiseClone();
        clone.AllowedOrigins = [.. AllowedOrigins];
        clone.Auth = Auth.Clone();
        return clone;
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxChannelsPerConnection);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInboundMessageBytes, 256);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxInboundMessagesPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBroadcastPayloadBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxQueuedTopicMessages);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SendTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CloseTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxJoinPayloadBytes, 256);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBindingsPerChannel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFilterLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFilterConditions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxFilterConditionsPerConnection);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConnections);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPresenceCallsPerWindow);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PresenceCallWindow, TimeSpan.Zero);
        Auth.Validate();
    }
}
