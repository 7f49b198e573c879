using System.Text;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The Supabase vsn 2.0.0 binary broadcast frames: kind 3 (client push) is decoded, kind 4 (server broadcast) encoded.
/// </summary>
/// <remarks>
/// Kind 3: <c>u8 3, u8 join_ref_len, u8 ref_len, u8 topic_len, u8 event_len, u8 meta_len, u8 encoding</c>, then
/// join_ref, ref, topic, event, metadata and the payload (the rest). Kind 4: <c>u8 4, u8 topic_len, u8 event_len,
/// u8 meta_len, u8 encoding</c>, then topic, event, metadata and the payload. Lengths are UTF-8 byte counts; encoding
/// 1 is a JSON payload, 0 raw bytes.
/// </remarks>
internal static class PhoenixBinaryFrame
{
    /// <summary>The kind byte of a client broadcast push.</summary>
    public const byte UserBroadcastPush = 3;

    /// <summary>The kind byte of a server broadcast.</summary>
    public const byte UserBroadcast = 4;

    private const int PushHeaderLength = 7;
    private const int BroadcastHeaderLength = 5;

    /// <summary>Decodes a kind-3 frame; returns <see langword="false"/> with the reason when it is not one.</summary>
    public static bool TryDecodePush(ReadOnlySpan<byte> frame, out BinaryPush push, out string? error)
    {
        push = default;
        if (frame.Length < PushHeaderLength || frame[0] != UserBroadcastPush)
        {
            error = frame.Length == 0 ? "empty binary frame" : $"unsupported binary frame kind {frame[0]}: only kind 3 (broadcast push) is accepted";
            return false;
        }

        int joinRefLength = frame[1], refLength = frame[2], topicLength = frame[3], eventLength = frame[4], metaLength = frame[5];
        byte encoding = frame[6];
        int headerEnd = PushHeaderLength + joinRefLength + refLength + topicLength + eventLength + metaLength;
        if (frame.Length < headerEnd || encoding > 1)
        {
            error = "truncated binary broadcast frame";
            return false;
        }

        int offset = PushHeaderLength;
        string? joinRef = ReadRef(frame, ref offset, joinRefLength);
        string? @ref = ReadRef(frame, ref offset, refLength);
        string topic = Encoding.UTF8.GetString(frame.Slice(offset, topicLength));
        offset += topicLength;
        string userEvent = Encoding.UTF8.GetString(frame.Slice(offset, eventLength));
        offset += eventLength + metaLength; // metadata (e.g. {"persist":true}) is ignored, as Supabase does
        push = new BinaryPush(joinRef, @ref, topic, userEvent, offset, encoding == 0);
        error = null;
        return true;
    }

    /// <summary>Encodes a kind-4 frame; <paramref name="topic"/> and <paramref name="userEvent"/> must be at most 255 UTF-8 bytes.</summary>
    public static byte[] EncodeUserBroadcast(string topic, string userEvent, ReadOnlySpan<byte> payload, bool isBinary)
    {
        int topicLength = Encoding.UTF8.GetByteCount(topic);
        int eventLength = Encoding.UTF8.GetByteCount(userEvent);
        byte[] frame = new byte[BroadcastHeaderLength + topicLength + eventLength + payload.Length];
        frame[0] = UserBroadcast;
        frame[1] = checked((byte)topicLength);
        frame[2] = checked((byte)eventLength);
        frame[3] = 0;
        frame[4] = isBinary ? (byte)0 : (byte)1;
        int offset = BroadcastHeaderLength;
        offset += Encoding.UTF8.GetBytes(topic, frame.AsSpan(offset));
        offset += Encoding.UTF8.GetBytes(userEvent, frame.AsSpan(offset));
        payload.CopyTo(frame.AsSpan(offset));
        return frame;
    }

    /// <summary>A ref as the raw JSON a text reply echoes: binary refs are strings.</summary>
    private static string? ReadRef(ReadOnlySpan<byte> frame, ref int offset, int length)
    {
        if (length == 0)
        {
            return null;
        }

        string text = Encoding.UTF8.GetString(frame.Slice(offset, length));
        offset += length;
        return "\"" + System.Text.Json.JsonEncodedText.Encode(text).ToString() + "\"";
    }

    /// <summary>A decoded kind-3 push; the payload is the frame from <see cref="PayloadOffset"/> on.</summary>
    internal readonly record struct BinaryPush(string? JoinRef, string? Ref, string Topic, string Event, int PayloadOffset, bool IsBinary);
}
