using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Who is present on each topic: one meta per tracking channel (its join's presence key plus the tracked payload and
/// a 16-character <c>phx_ref</c>), and the <c>presence_diff</c> every change sends to the topic.
/// </summary>
/// <remarks>
/// A topic's state changes and its diffs are made under one lock and sent through <see cref="RealtimeTopicManager"/>
/// inside it, so every member receives the diffs in the order the state changed (a leave never overtakes its join).
/// An update (a track with a new payload) is one diff with the new meta as a join (<c>phx_ref_prev</c> = the old ref)
/// and the old meta as a leave, as Phoenix.Presence sends it.
/// </remarks>
internal sealed class RealtimePresenceTracker
{
    private readonly ConcurrentDictionary<string, TopicPresence> _topics = new(StringComparer.Ordinal);
    private readonly RealtimeTopicManager _topicManager;
    private long _nextRef = DateTime.UtcNow.Ticks;

    public RealtimePresenceTracker(RealtimeTopicManager topicManager) => _topicManager = topicManager;

    /// <summary>Tracks <paramref name="payload"/> (a JSON object) for <paramref name="channel"/>; a payload equal to the tracked one changes nothing.</summary>
    public async ValueTask TrackAsync(RealtimeChannel channel, string key, byte[] payload)
    {
        TopicPresence topic = _topics.GetOrAdd(channel.NamespaceTopic, static _ => new TopicPresence());
        ValueTask sending;
        lock (topic.Gate)
        {
            Entry? old = topic.Entries.Find(e => ReferenceEquals(e.Channel, channel));
            if (old is not null && old.Payload.AsSpan().SequenceEqual(payload))
            {
                return;
            }

            var entry = new Entry(channel, key, NewRef(), old?.Ref, payload);
            if (old is not null)
            {
                topic.Entries.Remove(old);
            }

            topic.Entries.Add(entry);
            // Sent under the lock: the in-memory manager delivers (enqueues) before it returns, so diffs keep state order.
            RealtimeBroadcastMessage diff = RealtimeBroadcastMessage.FromPresenceDiff(channel.Topic, WriteDiff(entry, old));
            diff.IsPrivate = channel.IsPrivate;
            sending = _topicManager.SendAsync(diff);
        }

        await sending.ConfigureAwait(false);
    }

    /// <summary>Removes what <paramref name="channel"/> tracks, if anything, and sends the leave.</summary>
    public async ValueTask UntrackAsync(RealtimeChannel channel)
    {
        if (!_topics.TryGetValue(channel.NamespaceTopic, out TopicPresence? topic))
        {
            return;
        }

        ValueTask sending;
        lock (topic.Gate)
        {
            Entry? old = topic.Entries.Find(e => ReferenceEquals(e.Channel, channel));
            if (old is null)
            {
                return;
            }

            topic.Entries.Remove(old);
            RealtimeBroadcastMessage diff = RealtimeBroadcastMessage.FromPresenceDiff(channel.Topic, WriteDiff(null, old));
            diff.IsPrivate = channel.IsPrivate;
            sending = _topicManager.SendAsync(diff);
        }

        await sending.ConfigureAwait(false);
    }

    /// <summary>Returns the topic's state as a <c>presence_state</c> payload: <c>{key:{"metas":[…]}}</c>.</summary>
    public byte[] GetStateJson(string topic)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var w = new Utf8JsonWriter(buffer);
        w.WriteStartObject();
        if (_topics.TryGetValue(topic, out TopicPresence? presence))
        {
            lock (presence.Gate)
            {
                foreach (IGrouping<string, Entry> group in presence.Entries.GroupBy(e => e.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(group.Key);
                    w.WriteStartArray("metas"u8);
                    foreach (Entry entry in group)
                    {
                        WriteMeta(w, entry);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }
            }
        }

        w.WriteEndObject();
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A <c>phx_ref</c>: 12 bytes (a process-wide counter and 4 random bytes) in base64url, 16 characters, as Phoenix's.</summary>
    private string NewRef()
    {
        Span<byte> bytes = stackalloc byte[12];
        BitConverter.TryWriteBytes(bytes, Interlocked.Increment(ref _nextRef)); // unique within the process
        RandomNumberGenerator.Fill(bytes[8..]);                                // and across restarts
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
    }

    private static byte[] WriteDiff(Entry? joined, Entry? left)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteSide(w, "joins", joined);
            WriteSide(w, "leaves", left);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();

        static void WriteSide(Utf8JsonWriter w, string name, Entry? entry)
        {
            w.WriteStartObject(name);
            if (entry is not null)
            {
                w.WriteStartObject(entry.Key);
                w.WriteStartArray("metas"u8);
                WriteMeta(w, entry);
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }
    }

    private static void WriteMeta(Utf8JsonWriter w, Entry entry)
    {
        w.WriteStartObject();
        w.WriteString("phx_ref"u8, entry.Ref);
        if (entry.PreviousRef is not null)
        {
            w.WriteString("phx_ref_prev"u8, entry.PreviousRef);
        }

        using (JsonDocument payload = JsonDocument.Parse(entry.Payload))
        {
            foreach (JsonProperty property in payload.RootElement.EnumerateObject())
            {
                if (property.Name is not ("phx_ref" or "phx_ref_prev"))
                {
                    property.WriteTo(w);
                }
            }
        }

        w.WriteEndObject();
    }

    private sealed record Entry(RealtimeChannel Channel, string Key, string Ref, string? PreviousRef, byte[] Payload);

    private sealed class TopicPresence
    {
        public readonly Lock Gate = new();
        public readonly List<Entry> Entries = [];
    }
}
