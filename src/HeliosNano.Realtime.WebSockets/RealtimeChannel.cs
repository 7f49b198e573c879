namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One joined topic of a connection: its join ref, its active <c>postgres_changes</c> bindings and the bytes that frame
/// their changes; as a <see cref="IRealtimeTopicMember"/> it hands topic messages to its connection.
/// </summary>
internal sealed class RealtimeChannel : IRealtimeTopicMember
{
    private readonly RealtimeConnection? _connection;
    private volatile bool _isClosed;
    private volatile RealtimeChannelAuth? _auth;

    public RealtimeChannel(RealtimeConnection? connection, string topic, string? joinRef, PostgresBinding[] bindings, bool arrayFormat)
    {
        _connection = connection;
        Topic = topic;
        Name = topic.StartsWith(RealtimeProtocolDispatcher.TopicPrefix, StringComparison.Ordinal) ? topic[RealtimeProtocolDispatcher.TopicPrefix.Length..] : topic;
        JoinRef = joinRef;
        Bindings = bindings;
        (Prefix, Suffix) = PhoenixFrameWriter.BuildChangeEnvelope(arrayFormat, topic);
    }

    /// <summary>Gets the topic, e.g. <c>realtime:orders</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets the topic without <c>realtime:</c>: the <c>channel</c> field of system messages.</summary>
    public string Name { get; }

    /// <summary>Gets the raw JSON of the join's ref, carried by this channel's pushes.</summary>
    public string? JoinRef { get; }

    /// <summary>Gets the bindings that were set up (bad ones got a system error and are not here).</summary>
    public PostgresBinding[] Bindings { get; }

    /// <summary>Gets the frame bytes before a change payload (topic and event already encoded).</summary>
    public byte[] Prefix { get; }

    /// <summary>Gets the frame bytes after a change payload.</summary>
    public byte[] Suffix { get; }

    /// <summary>The <see cref="StartAfter"/> of a channel that takes its changes from the change history, not the ring, for now.</summary>
    public const long ReplayingHistory = long.MaxValue;

    /// <summary>
    /// Gets or sets the sequence after which this channel receives changes from the ring: the tail at join, the replay
    /// point, or <see cref="ReplayingHistory"/> while it replays from the change history.
    /// </summary>
    public long StartAfter { get; set; }

    /// <summary>Gets or sets a value indicating whether the channel receives its own broadcasts (<c>config.broadcast.self</c>).</summary>
    public bool BroadcastSelf { get; set; }

    /// <summary>Gets or sets a value indicating whether the channel's broadcast pushes are answered (<c>config.broadcast.ack</c>).</summary>
    public bool BroadcastAck { get; set; }

    /// <summary>Gets or sets a value indicating whether the join asked for presence (<c>config.presence.enabled</c>).</summary>
    public bool PresenceEnabled { get; set; }

    /// <summary>Gets or sets a value indicating whether the channel has tracked a presence (then it receives diffs too).</summary>
    public bool HasTracked { get; set; }

    /// <summary>Gets or sets the presence key: <c>config.presence.key</c>, or a fresh UUID per join.</summary>
    public string PresenceKey { get; set; } = string.Empty;

    /// <summary>Gets a value indicating whether <c>presence_diff</c> messages are sent to this channel.</summary>
    public bool ReceivesPresence => PresenceEnabled || HasTracked;

    /// <summary>Gets or sets a value indicating whether the channel left; topic messages still queued for it are dropped.</summary>
    public bool IsClosed
    {
        get => _isClosed;
        set => _isClosed = value;
    }

    /// <summary>Gets or sets a value indicating whether the channel was joined with <c>config.private: true</c> and that is enforced.</summary>
    public bool IsPrivate { get; set; }

    /// <summary>Gets or sets who the channel acts as and what it may read; <see langword="null"/> without auth.</summary>
    public RealtimeChannelAuth? Auth
    {
        get => _auth;
        set => _auth = value;
    }

    /// <summary>Gets the key of the channel's namespace: a private and a public channel of one name are separate, as on Supabase.</summary>
    public string NamespaceTopic => IsPrivate ? "\u0001private:" + Topic : Topic;

    /// <inheritdoc/>
    public void Deliver(RealtimeBroadcastMessage message)
    {
        // Public and private channels of one name share the fan-out list but not their messages; a private channel
        // receives only what its cached read decisions allow.
        if (message.IsPrivate != IsPrivate
            || (IsPrivate && _auth is { } auth && !(message.IsPresenceDiff ? auth.CanReadPresence : auth.CanReadBroadcast)))
        {
            return;
        }

        _connection?.EnqueueTopicMessage(this, message);
    }
}
