namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// What other nodes track, as a multi-node backplane replicates it: <see cref="RealtimePresenceTracker"/> adds these
/// metas to this node's own in <c>presence_state</c> and <see cref="RealtimePresence"/>. Without a backplane there is
/// none and presence is this process's only.
/// </summary>
/// <remarks>
/// The backplane delivers the <c>presence_diff</c>s of remote changes to local members itself (through the local topic
/// fan-out), under the same lock as <see cref="GetRemote"/> reads, so a read is consistent with the diffs sent so far.
/// </remarks>
internal interface IRealtimePresenceReplica
{
    /// <summary>Returns the metas other nodes track on <paramref name="topic"/> (the tracker's topic key: the wire topic, or its private namespace key), oldest first.</summary>
    IReadOnlyList<RealtimeRemotePresence> GetRemote(string topic);
}

/// <summary>One meta tracked on another node: its key, <c>phx_ref</c>, tracked payload (a JSON object) and encoded meta (<see cref="RealtimePresenceTracker.EncodeMeta"/>).</summary>
internal sealed record RealtimeRemotePresence(string Key, string Ref, byte[] Payload, byte[] Meta);
