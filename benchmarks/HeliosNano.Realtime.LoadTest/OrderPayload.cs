using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The one payload every target sends: a <c>public.orders</c> INSERT whose row carries <c>sent_ticks</c> (the
/// publisher's <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> just before the publish call; both processes
/// share the machine's monotonic clock, so a client subtracts it from its own timestamp for notify-to-receive latency).
/// </summary>
/// <remarks>
/// HeliosNano builds its frame itself; the SignalR and raw targets send <see cref="BuildFrame"/>, which reproduces the
/// adapter's vsn 1.0.0 frame byte for byte in shape (envelope, <c>{ids, data}</c>, the mirrored flat fields, <c>seq</c>),
/// so all three targets move the same number of bytes per message.
/// </remarks>
internal static class OrderPayload
{
    public const string Schema = "public";
    public const string Table = "orders";
    public const string Topic = "realtime:public:orders";

    public static readonly ChangeColumn[] Columns =
    [
        new("id", "int8"),
        new("customer_id", "int8"),
        new("status", "text"),
        new("total", "numeric"),
        new("created_at", "timestamptz"),
        new("sent_ticks", "int8"),
        new("note", "text"),
    ];

    /// <summary>The columns of the rowpolicy scenario's rows: <see cref="Columns"/> plus <c>tenant_id</c> and <c>visibility</c>.</summary>
    public static readonly ChangeColumn[] TenantColumns = [.. Columns, new("tenant_id", "text"), new("visibility", "text")];

    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_customerId = JsonEncodedText.Encode("customer_id");
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText s_total = JsonEncodedText.Encode("total");
    private static readonly JsonEncodedText s_createdAt = JsonEncodedText.Encode("created_at");
    private static readonly JsonEncodedText s_sentTicks = JsonEncodedText.Encode("sent_ticks");
    private static readonly JsonEncodedText s_note = JsonEncodedText.Encode("note");
    private static readonly JsonEncodedText s_tenantId = JsonEncodedText.Encode("tenant_id");
    private static readonly JsonEncodedText s_visibility = JsonEncodedText.Encode("visibility");
    private static readonly DateTimeOffset s_created = new(2026, 11, 28, 9, 30, 0, TimeSpan.Zero);

    /// <summary>Gets the row writer handed to <c>Notify</c> (static, so passing it allocates nothing).</summary>
    public static ChangeRowWriter<Row> Writer { get; } = static (writer, row, _) => WriteRow(writer, row);

    /// <summary>
    /// The row: an id, the send timestamp and a note padding the row to the requested size; in the rowpolicy scenario
    /// also the tenant it belongs to and whether every tenant may read it (<c>visibility</c> <c>public</c> or <c>private</c>).
    /// </summary>
    public readonly record struct Row(long Id, long SentTicks, string Note, string? Tenant = null, bool Public = false);

    public static string MakeNote(int padBytes) => new('x', Math.Max(0, padBytes));

    public static void WriteRow(Utf8JsonWriter w, Row row)
    {
        w.WriteStartObject();
        w.WriteNumber(s_id, row.Id);
        w.WriteNumber(s_customerId, 1000 + (row.Id % 97));
        w.WriteString(s_status, "new");
        w.WriteNumber(s_total, 49.99m);
        w.WriteString(s_createdAt, s_created);
        w.WriteNumber(s_sentTicks, row.SentTicks);
        w.WriteString(s_note, row.Note);
        if (row.Tenant is not null)
        {
            w.WriteString(s_tenantId, row.Tenant);
            w.WriteString(s_visibility, row.Public ? "public" : "private");
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Builds the whole text frame as the HeliosNano adapter would send it for a config-less join (vsn 1.0.0): the
    /// change's <c>data</c> is serialized once, then copied into the wrapper and again as the flat fields.
    /// </summary>
    public static byte[] BuildFrame(long sequence, Row row, ArrayBufferWriter<byte> scratch, Utf8JsonWriter writer)
    {
        scratch.ResetWrittenCount();
        writer.Reset(scratch);
        writer.WriteStartObject();
        writer.WriteString("schema"u8, Schema);
        writer.WriteString("table"u8, Table);
        writer.WriteString("commit_timestamp"u8, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        writer.WriteString("type"u8, "INSERT");
        writer.WriteStartArray("columns"u8);
        foreach (ChangeColumn c in Columns)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, c.Name);
            writer.WriteString("type"u8, c.TypeName);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteNull("errors"u8);
        writer.WritePropertyName("record"u8);
        WriteRow(writer, row);
        writer.WriteNull("old_record"u8);
        writer.WriteEndObject();
        writer.Flush();
        ReadOnlySpan<byte> data = scratch.WrittenSpan;

        var frame = new ArrayBufferWriter<byte>((data.Length * 2) + 160);
        frame.Write("{\"topic\":\"realtime:public:orders\",\"event\":\"postgres_changes\",\"payload\":{\"ids\":[],\"data\":"u8);
        frame.Write(data);
        frame.Write(","u8);
        frame.Write(data[1..^1]);
        frame.Write(",\"seq\":"u8);
        Span<byte> digits = stackalloc byte[20];
        sequence.TryFormat(digits, out int n, default, CultureInfo.InvariantCulture);
        frame.Write(digits[..n]);
        frame.Write("},\"ref\":null}"u8);
        return frame.WrittenSpan.ToArray();
    }
}
