namespace HeliosNano.Realtime.WebSockets;

/// <summary>One subscriber of a topic as <see cref="RealtimeTopicManager"/> sees it: a joined channel of one connection.</summary>
internal interface IRealtimeTopicMember
{
    /// <summary>Gets the topic the member joined, e.g. <c>realtime:room1</c>.</summary>
    string Topic { get; }

    /// <summary>
    /// Hands <paramref name="message"/> to the member's connection without waiting: the connection's own loop sends it.
    /// Called under the topic's fan-out, so it must not block and must keep the order of calls.
    /// </summary>
    void Deliver(RealtimeBroadcastMessage message);
}
