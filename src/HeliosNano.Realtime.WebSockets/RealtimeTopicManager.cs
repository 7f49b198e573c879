namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The one place that knows which channels are on a topic and fans a message out to them, as SignalR's
/// <c>HubLifetimeManager</c> is for groups.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="DefaultRealtimeTopicManager"/> keeps the members of this process in memory. A multi-node backplane
/// derives from this class: it keeps the local members the same way and also publishes every
/// <see cref="SendAsync"/> to the other nodes, which deliver it to their own local members; only the message's
/// topic, event and payload need to cross the wire (its encoded frames are rebuilt, once per format, on each node).
/// </para>
/// <para>
/// Contract: messages sent to one topic reach every member in the order <see cref="SendAsync"/> calls completed;
/// <see cref="SendAsync"/> never waits for a member's socket (members queue, their connection sends). postgres_changes
/// do not go through here: every connection reads them, in commit order, from the shared <see cref="ChangeNotifier"/>
/// ring, which a backplane feeds by calling <c>ChangeNotifier.Notify</c>.
/// </para>
/// </remarks>
internal abstract class RealtimeTopicManager
{
    /// <summary>Adds <paramref name="member"/> to its topic: it receives every message sent to it from now on.</summary>
    public abstract ValueTask AddAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="member"/> from its topic; removing a member that is not there does nothing.</summary>
    public abstract ValueTask RemoveAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default);

    /// <summary>Delivers <paramref name="message"/> to every member of its topic except <paramref name="except"/>.</summary>
    public abstract ValueTask SendAsync(RealtimeBroadcastMessage message, IRealtimeTopicMember? except = null, CancellationToken cancellationToken = default);

    /// <summary>Gets how many members this node has on <paramref name="topic"/>.</summary>
    public abstract int GetLocalMemberCount(string topic);
}
