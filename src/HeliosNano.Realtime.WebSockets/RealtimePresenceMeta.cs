namespace HeliosNano.Realtime.WebSockets;

/// <summary>One tracked presence on a topic, as <see cref="RealtimePresence.GetMembers"/> returns it.</summary>
public sealed class RealtimePresenceMeta
{
    internal RealtimePresenceMeta(string key, string presenceRef, ReadOnlyMemory<byte> payload)
    {
        Key = key;
        PresenceRef = presenceRef;
        Payload = payload;
    }

    /// <summary>
    /// Gets the presence key: the join's <c>config.presence.key</c>, or the fresh UUID the server gave a join without
    /// one. Several channels (browser tabs) may track under one key.
    /// </summary>
    public string Key { get; }

    /// <summary>Gets the 16-character <c>phx_ref</c> of this meta, as clients see it in <c>presence_state</c> and <c>presence_diff</c>.</summary>
    public string PresenceRef { get; }

    /// <summary>Gets what the client tracked: a UTF-8 JSON object (<c>{}</c> for a track without payload).</summary>
    public ReadOnlyMemory<byte> Payload { get; }
}
