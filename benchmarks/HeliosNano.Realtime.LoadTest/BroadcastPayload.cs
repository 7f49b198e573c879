using System.Buffers;
using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The broadcast scenario's one message: user event <c>load</c> on topic <c>room1</c> with the JSON payload
/// <c>{"seq":N,"sent_ticks":T,"note":"…"}</c>. The SignalR and raw targets send <see cref="BuildFrame"/>, the exact text
/// frame the HeliosNano adapter sends a vsn 1.0.0 client for a host-API broadcast, so every target moves the same bytes.
/// </summary>
/// <remarks>
/// The clients' scanner reads <c>"seq":</c> (the publisher's per-run sequence: a gap is a lost message, a smaller one a
/// reordered one; broadcasts have no lag message, so any gap is a loss) and <c>"sent_ticks":</c> (latency).
/// </remarks>
internal static class BroadcastPayload
{
    /// <summary>The topic as supabase-js names it (<c>supabase.channel("room1")</c>) and as the host API takes it.</summary>
    public const string Name = "room1";

    /// <summary>The topic on the wire.</summary>
    public const string Topic = "realtime:room1";

    /// <summary>The user event (<c>.on("broadcast", { event: "load" }, …)</c>).</summary>
    public const string Event = "load";

    /// <summary>The SignalR group every client of the signalr target joins.</summary>
    public const string Group = "room1";

    /// <summary>What supabase-js sends to join a broadcast-only channel (self off, ack off: fire and forget).</summary>
    public static readonly byte[] JoinFrame = Encoding.UTF8.GetBytes(
        "{\"topic\":\"" + Topic + "\",\"event\":\"phx_join\",\"payload\":{\"config\":{\"broadcast\":{\"self\":false,\"ack\":false},\"presence\":{\"enabled\":false}}},\"ref\":\"1\",\"join_ref\":\"1\"}");

    /// <summary>The user payload as UTF-8 JSON: what the host passes to <c>RealtimeBroadcaster.BroadcastAsync</c>.</summary>
    public static byte[] UserPayload(long sequence, OrderPayload.Row row, ArrayBufferWriter<byte> scratch)
    {
        scratch.ResetWrittenCount();
        WriteUserPayload(sequence, row, scratch);
        return scratch.WrittenSpan.ToArray();
    }

    /// <summary>The frame a vsn 1.0.0 client receives: <c>{"topic":…,"event":"broadcast","payload":{"event":"load","payload":P,"type":"broadcast"},"ref":null}</c>.</summary>
    public static byte[] BuildFrame(long sequence, OrderPayload.Row row, ArrayBufferWriter<byte> scratch)
    {
        scratch.ResetWrittenCount();
        scratch.Write("{\"topic\":\"realtime:room1\",\"event\":\"broadcast\",\"payload\":{\"event\":\"load\",\"payload\":"u8);
        WriteUserPayload(sequence, row, scratch);
        scratch.Write(",\"type\":\"broadcast\"},\"ref\":null}"u8);
        return scratch.WrittenSpan.ToArray();
    }

    /// <summary>A client's broadcast push (text, as supabase-js 2.119.0 sends it on vsn 1.0.0).</summary>
    public static byte[] BuildPush(long sequence, OrderPayload.Row row, ArrayBufferWriter<byte> scratch)
    {
        scratch.ResetWrittenCount();
        scratch.Write("{\"topic\":\"realtime:room1\",\"event\":\"broadcast\",\"payload\":{\"type\":\"broadcast\",\"event\":\"load\",\"payload\":"u8);
        WriteUserPayload(sequence, row, scratch);
        scratch.Write("},\"ref\":\""u8);
        WriteNumber(scratch, sequence);
        scratch.Write("\",\"join_ref\":\"1\"}"u8);
        return scratch.WrittenSpan.ToArray();
    }

    private static void WriteUserPayload(long sequence, OrderPayload.Row row, ArrayBufferWriter<byte> scratch)
    {
        scratch.Write("{\"seq\":"u8);
        WriteNumber(scratch, sequence);
        scratch.Write(",\"sent_ticks\":"u8);
        WriteNumber(scratch, row.SentTicks);
        scratch.Write(",\"note\":\""u8);
        Encoding.UTF8.GetBytes(row.Note, scratch);
        scratch.Write("\"}"u8);
    }

    private static void WriteNumber(ArrayBufferWriter<byte> scratch, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out int n, default, CultureInfo.InvariantCulture);
        scratch.Write(digits[..n]);
    }
}
