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
    private readonly IRealtimePresenceReplica? _replica;
    private long _nextRef = DateTime.UtcNow.Ticks;

    /// <summary>Initializes a tracker whose diffs go through <paramref name="topicManager"/>.</summary>
    /// <param name="topicManager">The topic fan-out; a backplane's also replicates this node's diffs.</param>
    /// <param name="replica">What other nodes track, added to reads; <see langword="null"/> for this process only.</param>
    public RealtimePresenceTracker(RealtimeTopicManager topicManager, IRealtimePresenceReplica? replica = null)
    {
        _topicManager = topicManager;
        _replica = replica;
    }

    /// <summary>Gets how many topics have someone present, for tests: emptied topics are dropped.</summary>
    internal int TopicCount => _topics.Count;

    /// <summary>Tracks <paramref name="payload"/> (a JSON object) for <paramref name="channel"/>; a payload equal to the tracked one changes nothing.</summary>
    public async ValueTask TrackAsync(RealtimeChannel channel, string key, byte[] payload)
    {
        ValueTask sending;
        while (true)
        {
            TopicPresence topic = _topics.GetOrAdd(channel.NamespaceTopic, static _ => new TopicPresence());
            lock (topic.Gate)
            {
                if (topic.Removed)
                {
                    continue; // emptied and dropped by an untrack in the meantime: take the topic's new state
                }

                Entry? old = topic.Entries.GetValueOrDefault(channel);
                if (old is not null && old.Payload.AsSpan().SequenceEqual(payload))
                {
                    return;
                }

                var entry = new Entry(channel, key, NewRef(), old?.Ref, payload);
                topic.Entries[channel] = entry;
                // Sent under the lock: the in-memory manager delivers (enqueues) before it returns, so diffs keep state order.
                RealtimeBroadcastMessage diff = RealtimeBroadcastMessage.FromPresenceDiff(channel.Topic, WriteDiff(entry, old));
                diff.IsPrivate = channel.IsPrivate;
                sending = _topicManager.SendAsync(diff);
                break;
            }
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
            if (!topic.Entries.Remove(channel, out Entry? old))
            {
                return;
            }

            if (topic.Entries.Count == 0)
            {
                // The last member left: drop the topic so a server that sees many short-lived topics holds none of them.
                topic.Removed = true;
                _topics.TryRemove(new KeyValuePair<string, TopicPresence>(channel.NamespaceTopic, topic));
            }

            RealtimeBroadcastMessage diff = RealtimeBroadcastMessage.FromPresenceDiff(channel.Topic, WriteDiff(null, old));
            diff.IsPrivate = channel.IsPrivate;
            sending = _topicManager.SendAsync(diff);
        }

        await sending.ConfigureAwait(false);
    }

    /// <summary>Returns a snapshot of who is present on <paramref name="topic"/> (the wire topic), oldest first: this node's, then other nodes'.</summary>
    public IReadOnlyList<RealtimePresenceMeta> GetMembers(string topic)
    {
        var members = new List<RealtimePresenceMeta>();
        if (_topics.TryGetValue(topic, out TopicPresence? presence))
        {
            lock (presence.Gate)
            {
                foreach (Entry entry in presence.Entries.Values)
                {
                    members.Add(new RealtimePresenceMeta(entry.Key, entry.Ref, entry.Payload));
                }
            }
        }

        foreach (RealtimeRemotePresence remote in _replica?.GetRemote(topic) ?? [])
        {
            members.Add(new RealtimePresenceMeta(remote.Key, remote.Ref, remote.Payload));
        }

        return members;
    }

    /// <summary>Returns the topic's state as a <c>presence_state</c> payload: <c>{key:{"metas":[…]}}</c>.</summary>
    public byte[] GetStateJson(string topic)
    {
        _topics.TryGetValue(topic, out TopicPresence? presence);
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, presence?.StateBytesHint ?? 0));
        using var w = new Utf8JsonWriter(buffer);
        w.WriteStartObject();
        IReadOnlyList<RealtimeRemotePresence> remote = _replica?.GetRemote(topic) ?? [];
        if (remote.Count == 0)
        {
            if (presence is not null)
            {
                lock (presence.Gate)
                {
                    WriteGroups(w, presence.Entries.Values.Select(e => (e.Key, e.Meta)));
                }
            }
        }
        else
        {
            // Other nodes' metas under the same keys: one list per key, this node's first.
            var metas = new List<(string Key, byte[] Meta)>();
            if (presence is not null)
            {
                lock (presence.Gate)
                {
                    metas.AddRange(presence.Entries.Values.Select(e => (e.Key, e.Meta)));
                }
            }

            metas.AddRange(remote.Select(r => (r.Key, r.Meta)));
            WriteGroups(w, metas);
        }

        w.WriteEndObject();
        w.Flush();
        if (presence is not null)
        {
            // The next state of this topic starts with a buffer of about the right size (no doubling copies).
            presence.StateBytesHint = buffer.WrittenCount + 256;
        }

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

    private static void WriteMeta(Utf8JsonWriter w, Entry entry) => w.WriteRawValue(entry.Meta, skipInputValidation: true);

    private static void WriteGroups(Utf8JsonWriter w, IEnumerable<(string Key, byte[] Meta)> metas)
    {
        foreach (IGrouping<string, (string Key, byte[] Meta)> group in metas.GroupBy(e => e.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(group.Key);
            w.WriteStartArray("metas"u8);
            foreach ((_, byte[] meta) in group)
            {
                w.WriteRawValue(meta, skipInputValidation: true);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// A meta as diffs and states carry it: <c>phx_ref</c>, <c>phx_ref_prev</c> when it replaced one, then the tracked
    /// payload's fields (any <c>phx_ref*</c> of the client's own dropped). Encoded once per track, so a state listing
    /// N members copies N encoded metas instead of parsing N payloads. A backplane encodes other nodes' metas with it.
    /// </summary>
    internal static byte[] EncodeMeta(string @ref, string? previousRef, byte[] payload)
    {
        var buffer = new ArrayBufferWriter<byte>(payload.Length + 64);
        using var w = new Utf8JsonWriter(buffer);
        w.WriteStartObject();
        w.WriteString("phx_ref"u8, @ref);
        if (previousRef is not null)
        {
            w.WriteString("phx_ref_prev"u8, previousRef);
        }

        using (JsonDocument document = JsonDocument.Parse(payload))
        {
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name is not ("phx_ref" or "phx_ref_prev"))
                {
                    property.WriteTo(w);
                }
            }
        }

        w.WriteEndObject();
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private sealed record Entry(RealtimeChannel Channel, string Key, string Ref, string? PreviousRef, byte[] Payload)
    {
        /// <summary>Gets the encoded meta (<see cref="EncodeMeta"/>), made when the entry is.</summary>
        public byte[] Meta { get; } = EncodeMeta(Ref, PreviousRef, Payload);
    }

    private sealed class TopicPresence
    {
        public readonly Lock Gate = new();

        /// <summary>One entry per tracking channel, found in O(1) so a track costs the same whatever the member count.</summary>
        public readonly Dictionary<RealtimeChannel, Entry> Entries = new(ReferenceEqualityComparer.Instance);

        /// <summary>Set under <see cref="Gate"/> when the topic emptied and left the registry; a late track retries.</summary>
        public bool Removed;

        /// <summary>About how many bytes the last state of this topic took: the next one's starting buffer size.</summary>
        public int StateBytesHint;
    }
}
