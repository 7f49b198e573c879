namespace HeliosNano.Realtime.WebSockets;

/// <summary>One joined topic of a connection: its join ref, its active bindings and the bytes that frame its changes.</summary>
internal sealed class RealtimeChannel
{
    public RealtimeChannel(string topic, string? joinRef, PostgresBinding[] bindings, bool arrayFormat)
    {
        Topic = topic;
        Name = topic.StartsWith(RealtimeConnection.TopicPrefix, StringComparison.Ordinal) ? topic[RealtimeConnection.TopicPrefix.Length..] : topic;
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

    /// <summary>Gets or sets the sequence after which this channel receives changes: the tail at join, or the replay point.</summary>
    public long StartAfter { get; set; }
}
