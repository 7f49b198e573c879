using System.Buffers;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One broadcast on one topic, as it travels through <see cref="RealtimeTopicManager"/>: its user event and payload,
/// and its outbound frames, each encoded at most once per <see cref="RealtimeFrameFormat"/> and shared by every
/// receiver (the analogue of SignalR's <c>SerializedHubMessage</c>).
/// </summary>
/// <remarks>
/// Three payload shapes, as Supabase forwards them: a text push's whole payload object, forwarded verbatim
/// (<see cref="FromTextPush"/>); a JSON user payload (binary push with encoding 1, REST, the host API), sent to text
/// clients as <c>{"event":e,"payload":p,"type":"broadcast"}</c>; raw bytes (encoding 0), which only kind-4 clients can
/// receive.
/// </remarks>
internal sealed class RealtimeBroadcastMessage
{
    private static readonly byte[] s_emptyObject = "{}"u8.ToArray();

    private readonly Lock _gate = new();
    private readonly byte[]?[] _frames = new byte[]?[3];
    private readonly bool[] _built = new bool[3];
    private readonly byte[]? _verbatim;

    private RealtimeBroadcastMessage(string topic, string userEvent, byte[] payload, bool isBinary, byte[]? verbatim, string phoenixEvent = "broadcast")
    {
        PhoenixEvent = phoenixEvent;
        Topic = topic;
        Event = userEvent;
        Payload = payload;
        IsBinary = isBinary;
        _verbatim = verbatim;
    }

    /// <summary>Gets the full topic, e.g. <c>realtime:room1</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets the Phoenix event of the frame: <c>broadcast</c>, or <c>presence_diff</c> for a presence change.</summary>
    public string PhoenixEvent { get; }

    /// <summary>Gets a value indicating whether this is a <c>presence_diff</c> rather than a broadcast.</summary>
    public bool IsPresenceDiff => PhoenixEvent == "presence_diff";

    /// <summary>Gets or sets a value indicating whether the message belongs to the private namespace of its topic (sent by a private channel).</summary>
    public bool IsPrivate { get; set; }

    /// <summary>Gets the user event, e.g. <c>cursor</c>.</summary>
    public string Event { get; }

    /// <summary>Gets the user payload: JSON, or raw bytes when <see cref="IsBinary"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets a value indicating whether <see cref="Payload"/> is raw bytes (kind-3 encoding 0) rather than JSON.</summary>
    public bool IsBinary { get; }

    /// <summary>Gets a value indicating whether the message came from a text push and goes to every client as text.</summary>
    public bool IsTextPush => _verbatim is not null;

    /// <summary>Creates a message whose user payload is JSON (a kind-3 push with encoding 1, REST, the host API).</summary>
    public static RealtimeBroadcastMessage FromJson(string topic, string userEvent, ReadOnlySpan<byte> payloadJson) =>
        new(topic, userEvent, payloadJson.IsEmpty ? s_emptyObject : payloadJson.ToArray(), isBinary: false, verbatim: null);

    /// <summary>Creates a message whose user payload is raw bytes (a kind-3 push with encoding 0).</summary>
    public static RealtimeBroadcastMessage FromBinary(string topic, string userEvent, ReadOnlySpan<byte> payload) =>
        new(topic, userEvent, payload.ToArray(), isBinary: true, verbatim: null);

    /// <summary>Creates a <c>presence_diff</c> whose payload is <paramref name="diffJson"/>, always sent as text.</summary>
    public static RealtimeBroadcastMessage FromPresenceDiff(string topic, byte[] diffJson) =>
        new(topic, string.Empty, diffJson, isBinary: false, verbatim: diffJson, phoenixEvent: "presence_diff");

    /// <summary>Creates a message from a text push: <paramref name="pushPayload"/> (the whole <c>{type,event,payload}</c> object) is forwarded as is.</summary>
    public static RealtimeBroadcastMessage FromTextPush(string topic, JsonElement pushPayload)
    {
        string userEvent = pushPayload.TryGetProperty("event"u8, out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : string.Empty;
        byte[] payload = pushPayload.TryGetProperty("payload"u8, out JsonElement p) ? Encoding.UTF8.GetBytes(p.GetRawText()) : s_emptyObject;
        byte[] verbatim = Encoding.UTF8.GetBytes(pushPayload.GetRawText());
        return new RealtimeBroadcastMessage(topic, userEvent, payload, isBinary: false, verbatim);
    }

    /// <summary>
    /// Returns the frame for <paramref name="format"/>, encoding it on the first call for that format; empty when the
    /// message cannot be sent in that format (raw bytes to a text-only client are dropped, as Supabase does).
    /// </summary>
    /// <param name="format">The receiving connection's format.</param>
    /// <param name="isBinaryFrame">Set to whether the frame is a binary WebSocket message.</param>
    public ReadOnlyMemory<byte> GetFrame(RealtimeFrameFormat format, out bool isBinaryFrame)
    {
        if (format == RealtimeFrameFormat.V2Binary && !CanUseKind4)
        {
            format = RealtimeFrameFormat.V2Json;
        }

        isBinaryFrame = format == RealtimeFrameFormat.V2Binary;
        int index = (int)format;

        // Fast path for every receiver after the first: the frame is published once, then only read.
        if (Volatile.Read(ref _built[index]))
        {
            return _frames[index];
        }

        lock (_gate)
        {
            if (!_built[index])
            {
                _frames[index] = Encode(format);
                Volatile.Write(ref _built[index], true);
            }
        }

        return _frames[index];
    }

    /// <summary>Kind 4 carries the topic and event lengths in one byte each; a text push stays text, as Supabase forwards it.</summary>
    private bool CanUseKind4 => _verbatim is null && Encoding.UTF8.GetByteCount(Topic) <= 255 && Encoding.UTF8.GetByteCount(Event) <= 255;

    private byte[]? Encode(RealtimeFrameFormat format)
    {
        if (format == RealtimeFrameFormat.V2Binary)
        {
            return PhoenixBinaryFrame.EncodeUserBroadcast(Topic, Event, Payload.Span, IsBinary);
        }

        if (IsBinary)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(Payload.Length + Topic.Length + 64);
        using (var w = new Utf8JsonWriter(buffer))
        {
            if (format == RealtimeFrameFormat.V2Json)
            {
                w.WriteStartArray();
                w.WriteNullValue();
                w.WriteNullValue();
                w.WriteStringValue(Topic);
                w.WriteStringValue(PhoenixEvent);
                WritePayload(w);
                w.WriteEndArray();
            }
            else
            {
                w.WriteStartObject();
                w.WriteString("topic"u8, Topic);
                w.WriteString("event"u8, PhoenixEvent);
                w.WritePropertyName("payload"u8);
                WritePayload(w);
                w.WriteNull("ref"u8);
                w.WriteEndObject();
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void WritePayload(Utf8JsonWriter w)
    {
        if (_verbatim is not null)
        {
            w.WriteRawValue(_verbatim, skipInputValidation: true);
            return;
        }

        w.WriteStartObject();
        w.WriteString("event"u8, Event);
        w.WritePropertyName("payload"u8);
        w.WriteRawValue(Payload.Span, skipInputValidation: true);
        w.WriteString("type"u8, "broadcast"u8);
        w.WriteEndObject();
    }
}
