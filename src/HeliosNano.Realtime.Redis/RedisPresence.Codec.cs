using System.Buffers;
using System.Text.Json;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.Redis;

/// <summary>The JSON of presence across nodes: a meta's value in the Redis hash, and the diffs sent to local members.</summary>
internal sealed partial class RedisPresence
{
    private static byte[] WriteDiff(List<Remote> joins, List<Remote> leaves)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteSide(w, "joins", joins);
            WriteSide(w, "leaves", leaves);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();

        static void WriteSide(Utf8JsonWriter w, string name, List<Remote> entries)
        {
            w.WriteStartObject(name);
            foreach (IGrouping<string, Remote> key in entries.GroupBy(e => e.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(key.Key);
                w.WriteStartArray("metas"u8);
                foreach (Remote entry in key)
                {
                    w.WriteRawValue(entry.Meta, skipInputValidation: true);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }
    }

    /// <summary><c>{"n":node,"t":topic,"k":key,"r":ref,"x":private,"p":previous ref,"m":payload}</c>; the node first, as the scripts match it.</summary>
    private string EncodeValue(string topic, bool isPrivate, string key, string presenceRef, JsonElement meta)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("n"u8, NodeId);
            w.WriteString("t"u8, topic);
            w.WriteString("k"u8, key);
            w.WriteString("r"u8, presenceRef);
            if (isPrivate)
            {
                w.WriteBoolean("x"u8, true); // the topic's private namespace
            }

            if (meta.TryGetProperty("phx_ref_prev"u8, out JsonElement previous) && previous.ValueKind == JsonValueKind.String)
            {
                w.WriteString("p"u8, previous.GetString());
            }

            w.WriteStartObject("m"u8);
            foreach (JsonProperty property in meta.EnumerateObject())
            {
                if (property.Name is not ("phx_ref" or "phx_ref_prev"))
                {
                    property.WriteTo(w);
                }
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Remote DecodeValue(JsonElement value) => new(
        value.GetProperty("n"u8).GetString()!,
        value.GetProperty("t"u8).GetString()!,
        value.GetProperty("k"u8).GetString()!,
        value.GetProperty("r"u8).GetString()!,
        value.TryGetProperty("x"u8, out JsonElement isPrivate) && isPrivate.ValueKind == JsonValueKind.True,
        value.TryGetProperty("p"u8, out JsonElement previous) ? previous.GetString() : null,
        System.Text.Encoding.UTF8.GetBytes(value.GetProperty("m"u8).GetRawText()));

    private sealed record Remote(string Node, string Topic, string Key, string Ref, bool IsPrivate, string? PreviousRef, byte[] Payload)
    {
        /// <summary>Gets the encoded meta, made once when the entry is.</summary>
        public byte[] Meta { get; } = RealtimePresenceTracker.EncodeMeta(Ref, PreviousRef, Payload);

        /// <summary>Gets the tracker's key of the topic: as <see cref="RealtimeChannel.NamespaceTopic"/>, a private channel's namespace is separate.</summary>
        public string ViewKey => IsPrivate ? "\u0001private:" + Topic : Topic;
    }
}
