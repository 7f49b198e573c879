namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The channels one connection has joined, by topic and in join order, shared by the protocol dispatcher (which adds
/// and removes them) and the channel extensions (which deliver to them); it keeps the topic memberships in
/// <see cref="RealtimeTopicManager"/> in step. Only the connection loop touches it.
/// </summary>
internal sealed class RealtimeChannelCollection
{
    private readonly Dictionary<string, RealtimeChannel> _byTopic = new(StringComparer.Ordinal);
    private readonly List<RealtimeChannel> _inOrder = [];
    private readonly RealtimeWebSocketMetrics _metrics;
    private readonly RealtimeTopicManager _topics;
    private readonly RealtimePresenceTracker? _presence;

    public RealtimeChannelCollection(RealtimeWebSocketMetrics metrics, RealtimeTopicManager topics, RealtimePresenceTracker? presence = null)
    {
        _metrics = metrics;
        _topics = topics;
        _presence = presence;
    }

    /// <summary>Gets how many channels are joined.</summary>
    public int Count => _byTopic.Count;

    /// <summary>Gets the channels in join order; index it (a delivery may remove a crashed channel while walking it).</summary>
    public List<RealtimeChannel> InOrder => _inOrder;

    public bool TryGet(string topic, out RealtimeChannel? channel) => _byTopic.TryGetValue(topic, out channel);

    public bool Contains(string topic) => _byTopic.ContainsKey(topic);

    /// <summary>Adds <paramref name="channel"/> and makes it a member of its topic.</summary>
    public async ValueTask AddAsync(RealtimeChannel channel)
    {
        _byTopic.Add(channel.Topic, channel);
        _inOrder.Add(channel);
        _metrics.Channels.Add(1);
        await _topics.AddAsync(channel).ConfigureAwait(false);
    }

    /// <summary>Removes <paramref name="channel"/> and its topic membership; returns whether it was there.</summary>
    public async ValueTask<bool> RemoveAsync(RealtimeChannel channel)
    {
        if (!_byTopic.Remove(channel.Topic))
        {
            return false;
        }

        _inOrder.Remove(channel);
        _metrics.Channels.Add(-1);
        channel.IsClosed = true;
        channel.Auth?.Dispose();
        await _topics.RemoveAsync(channel).ConfigureAwait(false);

        // However the channel ends (leave, rejoin, limit, socket gone), what it tracked leaves.
        if (_presence is not null)
        {
            await _presence.UntrackAsync(channel).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Removes every channel and returns them in join order.</summary>
    public async ValueTask<RealtimeChannel[]> RemoveAllAsync()
    {
        RealtimeChannel[] all = [.. _inOrder];
        foreach (RealtimeChannel channel in all)
        {
            await RemoveAsync(channel).ConfigureAwait(false);
        }

        return all;
    }
}
