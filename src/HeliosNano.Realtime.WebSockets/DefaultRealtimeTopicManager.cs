using System.Collections.Concurrent;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>The in-memory <see cref="RealtimeTopicManager"/>: members of this process only.</summary>
/// <remarks>
/// Each topic holds a set of members and one lock that serializes the sends to that topic, so every member sees the
/// topic's messages in the same order. A send only enqueues to each member (no I/O, no await), so the lock is held for
/// a few microseconds per member. Adding or removing a member is O(1) whatever the topic's size (a copied array would
/// make N joins to one topic cost O(N²)).
/// </remarks>
internal sealed class DefaultRealtimeTopicManager : RealtimeTopicManager
{
    private readonly ConcurrentDictionary<string, TopicMembers> _topics = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public override ValueTask AddAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        while (true)
        {
            TopicMembers topic = _topics.GetOrAdd(member.Topic, static _ => new TopicMembers());
            lock (topic.Gate)
            {
                // A topic emptied (and unlisted) by a concurrent remove must not be revived: take the listed one.
                if (topic.Removed)
                {
                    continue;
                }

                topic.Members.Add(member);
                return ValueTask.CompletedTask;
            }
        }
    }

    /// <inheritdoc/>
    public override ValueTask RemoveAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (!_topics.TryGetValue(member.Topic, out TopicMembers? topic))
        {
            return ValueTask.CompletedTask;
        }

        lock (topic.Gate)
        {
            if (topic.Members.Remove(member) && topic.Members.Count == 0)
            {
                topic.Removed = true;
                _topics.TryRemove(new KeyValuePair<string, TopicMembers>(member.Topic, topic));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override ValueTask SendAsync(RealtimeBroadcastMessage message, IRealtimeTopicMember? except = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_topics.TryGetValue(message.Topic, out TopicMembers? topic))
        {
            lock (topic.Gate)
            {
                foreach (IRealtimeTopicMember member in topic.Members)
                {
                    if (!ReferenceEquals(member, except))
                    {
                        member.Deliver(message);
                    }
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override int GetLocalMemberCount(string topic)
    {
        if (!_topics.TryGetValue(topic, out TopicMembers? members))
        {
            return 0;
        }

        lock (members.Gate)
        {
            return members.Members.Count;
        }
    }

    /// <summary>One topic's members and the lock that orders its sends.</summary>
    private sealed class TopicMembers
    {
        public readonly Lock Gate = new();
        public readonly HashSet<IRealtimeTopicMember> Members = new(ReferenceEqualityComparer.Instance);
        public bool Removed;
    }
}
