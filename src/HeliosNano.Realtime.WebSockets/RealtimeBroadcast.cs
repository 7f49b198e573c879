namespace HeliosNano.Realtime.WebSockets;

/// <summary>One broadcast on a topic, as <see cref="RealtimeBroadcaster.ReadAllAsync"/> yields it.</summary>
public sealed class RealtimeBroadcast
{
    internal RealtimeBroadcast(string topic, string eventName, ReadOnlyMemory<byte> payload, bool isBinary)
    {
        Topic = topic;
        Event = eventName;
        Payload = payload;
        IsBinary = isBinary;
    }

    /// <summary>Gets the topic without <c>realtime:</c>, e.g. <c>room1</c>, as supabase-js names it in <c>channel("room1")</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets the user event, e.g. <c>cursor</c>.</summary>
    public string Event { get; }

    /// <summary>Gets the user payload: UTF-8 JSON, or raw bytes when <see cref="IsBinary"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets a value indicating whether <see cref="Payload"/> is raw bytes (a binary push or an <c>application/octet-stream</c> POST).</summary>
    public bool IsBinary { get; }
}
