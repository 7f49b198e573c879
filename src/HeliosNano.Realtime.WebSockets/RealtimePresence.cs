namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Reads who is present on a topic from application code: what the clients on this server tracked with
/// <c>channel.track(…)</c>, and, with a backplane such as <c>AddRedisBackplane</c>, what clients on the other nodes tracked. Registered by <see cref="RealtimeWebSocketServiceCollectionExtensions.AddHeliosRealtimeWebSockets"/>;
/// inject it.
/// </summary>
/// <remarks>
/// Topics are named as for <see cref="RealtimeBroadcaster"/>: <c>"room1"</c> or <c>"realtime:room1"</c>; the read is of
/// the public channels of that name (private channels, <c>config.private: true</c>, keep their presence apart). A read is a
/// snapshot taken under the topic's lock, consistent with the <c>presence_diff</c>s sent so far: a member that shows
/// here has had its join sent to the topic, one that is gone has had its leave sent.
/// </remarks>
public sealed class RealtimePresence
{
    private readonly RealtimePresenceTracker _tracker;

    internal RealtimePresence(RealtimePresenceTracker tracker) => _tracker = tracker;

    /// <summary>Returns every meta tracked on <paramref name="topic"/> now, one per tracking channel.</summary>
    /// <param name="topic">The topic, e.g. <c>room1</c>.</param>
    /// <returns>The metas; empty when nobody tracks on the topic.</returns>
    public IReadOnlyList<RealtimePresenceMeta> GetMembers(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        return _tracker.GetMembers(RealtimeBroadcaster.ToWireTopic(topic));
    }

    /// <summary>
    /// Returns the topic's state as the <c>presence_state</c> payload a joining client receives:
    /// <c>{"key":{"metas":[{"phx_ref":"…",…}]}}</c>, UTF-8 JSON.
    /// </summary>
    /// <param name="topic">The topic, e.g. <c>room1</c>.</param>
    /// <returns>The state; <c>{}</c> when nobody tracks on the topic.</returns>
    public ReadOnlyMemory<byte> GetStateJson(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        return _tracker.GetStateJson(RealtimeBroadcaster.ToWireTopic(topic));
    }
}
