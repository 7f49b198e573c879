using System.Buffers;
using System.Text.Json;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// The realistic payload of every benchmark: a five-column <c>public.orders</c> row, written as a JSON object by a
/// <see cref="ChangeRowWriter{TState}"/> exactly as a host's commit hook would (about 130 bytes of UTF-8 JSON).
/// </summary>
public readonly record struct OrderRow(long Id, long CustomerId, string Status, decimal Total, DateTimeOffset CreatedAt)
{
    public const string Schema = "public";
    public const string Table = "orders";

    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText s_customerId = JsonEncodedText.Encode("customer_id");
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText s_total = JsonEncodedText.Encode("total");
    private static readonly JsonEncodedText s_createdAt = JsonEncodedText.Encode("created_at");

    /// <summary>The row callback handed to <c>Notify</c>: a static lambda, so passing it allocates nothing.</summary>
    public static ChangeRowWriter<OrderRow> Writer { get; } = static (writer, row, _) => row.WriteTo(writer);

    /// <summary>The column metadata of the table, as a host sets it once on its <see cref="ChangeTable"/>.</summary>
    public static ChangeColumn[] Columns { get; } =
    [
        new("id", "int8"),
        new("customer_id", "int8"),
        new("status", "text"),
        new("total", "numeric"),
        new("created_at", "timestamptz"),
    ];

    /// <summary>Creates <paramref name="count"/> distinct rows, so that a benchmark never serializes the same values twice in a row.</summary>
    public static OrderRow[] CreateMany(int count)
    {
        var created = new DateTimeOffset(2026, 11, 28, 9, 30, 0, TimeSpan.Zero);
        var rows = new OrderRow[count];
        for (int i = 0; i < count; i++)
        {
            rows[i] = new OrderRow(100_000 + i, 4_200 + (i % 97), (i % 3) switch { 0 => "pending", 1 => "paid", _ => "shipped" },
                19.99m + i, created.AddSeconds(i));
        }

        return rows;
    }

    /// <summary>Writes the row as one JSON object.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber(s_id, Id);
        writer.WriteNumber(s_customerId, CustomerId);
        writer.WriteString(s_status, Status);
        writer.WriteNumber(s_total, Total);
        writer.WriteString(s_createdAt, CreatedAt);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Builds the same <see cref="ChangeEvent"/> that <c>Notify</c> builds (row JSON copied into its own array, the event
    /// object), without the ring: what a hand-rolled fan-out publishes, and the irreducible allocation per change.
    /// </summary>
    public ChangeEvent ToEvent(ChangeTable table, Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        WriteTo(writer);
        writer.Flush();
        byte[] rows = buffer.WrittenSpan.ToArray();
        return new ChangeEvent(table, ChangeKind.Insert, TimeProvider.System.GetUtcNow(), rows, rows.Length, 0);
    }
}
