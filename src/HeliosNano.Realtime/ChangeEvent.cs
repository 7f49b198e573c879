using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace HeliosNano.Realtime;

/// <summary>
/// One committed row change: its kind, table, after and before images as UTF-8 JSON captured at notify time, column
/// metadata, commit timestamp and its position in the notifier's total order.
/// </summary>
/// <remarks>
/// Immutable once published, and shared by every reader: the row is serialized exactly once, when the change is
/// notified, so later schema changes never alter it. <see cref="GetUtf8Json"/> builds the whole change as JSON at most
/// once, whatever the number of readers that ask.
/// </remarks>
[DebuggerDisplay("#{Sequence} {Kind} {Schema,nq}.{Table,nq}")]
public sealed class ChangeEvent
{
    private readonly ChangeTable _table;
    private readonly ColumnSet _columns;
    private readonly byte[] _rows;
    private readonly int _recordLength;
    private readonly int _oldRecordLength;

    /// <summary>
    /// The position in the total order. Written once by the publishing thread before the event becomes reachable
    /// through the ring (the compare-exchange that publishes it is a full fence), and never again.
    /// </summary>
    internal long _sequence;

    /// <summary>The lazily built JSON form; set once by compare-exchange, so all readers share one array.</summary>
    private byte[]? _json;

    internal ChangeEvent(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp, byte[] rows, int recordLength, int oldRecordLength)
        : this(table, kind, commitTimestamp, rows, recordLength, oldRecordLength, isLost: false)
    {
    }

    /// <summary>A change built by a <see cref="SequencedChangeWriter"/> from another node: it carries the columns it was captured with.</summary>
    internal ChangeEvent(ChangeTable table, ColumnSet columns, ChangeKind kind, DateTimeOffset commitTimestamp, byte[] rows, int recordLength, int oldRecordLength)
        : this(table, kind, commitTimestamp, rows, recordLength, oldRecordLength, isLost: false) => _columns = columns;

    private ChangeEvent(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp, byte[] rows, int recordLength, int oldRecordLength, bool isLost)
    {
        IsLost = isLost;
        _table = table;
        _columns = table.ColumnSet;
        Kind = kind;
        CommitTimestamp = commitTimestamp.ToUniversalTime();
        _rows = rows;
        _recordLength = recordLength;
        _oldRecordLength = oldRecordLength;
    }

    /// <summary>
    /// Gets a value indicating whether this is a marker that stands for a change readers cannot have: one the host
    /// reported as lost (<see cref="ChangeNotifier.NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>) or one the ring's byte budget
    /// evicted. Readers never return a marker; a reader whose filter covers it counts it as one missed change.
    /// </summary>
    internal bool IsLost { get; }

    /// <summary>
    /// Gets a value indicating whether this is a marker for a position whose change is unknown (dropped before it was
    /// sequenced, trimmed from a shared log, or skipped by an epoch change): every reader counts it as missed, whatever
    /// its filter, because the change's table is not known.
    /// </summary>
    internal bool IsGap => ReferenceEquals(_table, s_gapTable);

    /// <summary>Gets the table handle the change was notified for.</summary>
    internal ChangeTable TableHandle => _table;

    /// <summary>The table gap markers point at; it belongs to no notifier.</summary>
    private static readonly ChangeTable s_gapTable = new(new WatchRegistry(), "*", "*");

    /// <summary>Returns a marker for position <paramref name="sequence"/> whose change is unknown (see <see cref="IsGap"/>).</summary>
    internal static ChangeEvent CreateGap(long sequence)
    {
        ChangeEvent marker = new(s_gapTable, ChangeKind.Insert, DateTimeOffset.UnixEpoch, [], 0, 0, isLost: true);
        marker._sequence = sequence;
        return marker;
    }

    /// <summary>Gets a value indicating whether this marks a position that never held a change (see <see cref="CreateVoid"/>).</summary>
    internal bool IsVoid => ReferenceEquals(_table, s_voidTable);

    /// <summary>The table void markers point at; it belongs to no notifier.</summary>
    private static readonly ChangeTable s_voidTable = new(new WatchRegistry(), "*", "*");

    /// <summary>Returns a marker for a position that never held a change (a sequence jump): readers pass it without counting it.</summary>
    internal static ChangeEvent CreateVoid(long sequence)
    {
        ChangeEvent marker = new(s_voidTable, ChangeKind.Insert, DateTimeOffset.UnixEpoch, [], 0, 0, isLost: true);
        marker._sequence = sequence;
        return marker;
    }

    /// <summary>Gets what this change counts against the ring's byte budget: its row images plus a fixed per-change overhead.</summary>
    internal long RetainedBytes => IsLost ? 0 : _rows.Length + PerChangeOverheadBytes;

    /// <summary>What a change costs beyond its row images (the event object, its slot, the columns reference), rounded up.</summary>
    internal const int PerChangeOverheadBytes = 128;

    /// <summary>Returns a marker for a change that cannot be delivered: same table, kind and time, no images.</summary>
    internal static ChangeEvent CreateLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp) =>
        new(table, kind, commitTimestamp, [], 0, 0, isLost: true);

    /// <summary>Returns the marker that replaces this change when the byte budget evicts it: it keeps the sequence, table and kind.</summary>
    internal ChangeEvent ToLost()
    {
        ChangeEvent marker = new(_table, Kind, CommitTimestamp, [], 0, 0, isLost: true);
        marker._sequence = _sequence;
        return marker;
    }

    /// <summary>Gets the change's position in the notifier's total order: 1 for the first change, then +1 per change.</summary>
    public long Sequence => _sequence;

    /// <summary>Gets the kind of change.</summary>
    public ChangeKind Kind { get; }

    /// <summary>Gets the schema of the changed table.</summary>
    public string Schema => _table.Schema;

    /// <summary>Gets the name of the changed table.</summary>
    public string Table => _table.Name;

    /// <summary>Gets the commit timestamp, in UTC.</summary>
    public DateTimeOffset CommitTimestamp { get; }

    /// <summary>Gets the table's columns as they were when the change was captured.</summary>
    public IReadOnlyList<ChangeColumn> Columns => _columns.Columns;

    /// <summary>Gets a value indicating whether the change has an after image (INSERT and UPDATE).</summary>
    public bool HasRecord => _recordLength > 0;

    /// <summary>Gets a value indicating whether the change has a before image (DELETE, and UPDATE when the engine knows it).</summary>
    public bool HasOldRecord => _oldRecordLength > 0;

    /// <summary>Gets the after image as a UTF-8 JSON object, or an empty buffer when there is none.</summary>
    public ReadOnlyMemory<byte> Record => new(_rows, 0, _recordLength);

    /// <summary>Gets the before image as a UTF-8 JSON object, or an empty buffer when there is none.</summary>
    public ReadOnlyMemory<byte> OldRecord => new(_rows, _recordLength, _oldRecordLength);

    /// <summary>Gets the columns as a UTF-8 JSON array <c>[{"name":…,"type":…},…]</c>, shared by all changes of one schema version.</summary>
    public ReadOnlyMemory<byte> ColumnsJson => _columns.Json;

    /// <summary>Parses the after image into a <see cref="JsonDocument"/> the caller disposes, or returns <see langword="null"/>.</summary>
    /// <returns>The document, or <see langword="null"/> when the change has no after image.</returns>
    public JsonDocument? ParseRecord() => HasRecord ? JsonDocument.Parse(Record) : null;

    /// <summary>Parses the before image into a <see cref="JsonDocument"/> the caller disposes, or returns <see langword="null"/>.</summary>
    /// <returns>The document, or <see langword="null"/> when the change has no before image.</returns>
    public JsonDocument? ParseOldRecord() => HasOldRecord ? JsonDocument.Parse(OldRecord) : null;

    /// <summary>
    /// Gets the whole change as one UTF-8 JSON object in the Supabase Realtime <c>data</c> shape:
    /// <c>{"schema","table","commit_timestamp","type","columns","errors":null,"record","old_record"}</c>, with
    /// <c>type</c> upper case, <c>commit_timestamp</c> RFC 3339 UTC with milliseconds, and an explicit <c>null</c> for a
    /// missing image.
    /// </summary>
    /// <returns>The JSON bytes; built on first call and shared by every later caller on any thread.</returns>
    public ReadOnlyMemory<byte> GetUtf8Json()
    {
        byte[]? json = Volatile.Read(ref _json);
        if (json is null)
        {
            byte[] built = BuildJson();
            // Two threads may both build it; the first to publish wins and everyone shares that array.
            json = Interlocked.CompareExchange(ref _json, built, null) ?? built;
        }

        return json;
    }

    private byte[] BuildJson()
    {
        // Sized for the whole change, from the pool: the only allocation is the exact array every reader shares.
        using var buffer = new PooledBufferWriter(256 + _rows.Length + _columns.Json.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            writer.WriteString(JsonNames.Schema, Schema);
            writer.WriteString(JsonNames.Table, Table);
            Span<char> stamp = stackalloc char[24];
            bool formatted = CommitTimestamp.UtcDateTime.TryFormat(stamp, out int written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            Debug.Assert(formatted);
            writer.WriteString(JsonNames.CommitTimestamp, stamp[..written]);
            writer.WriteString(JsonNames.Type, JsonNames.ForKind(Kind));
            writer.WritePropertyName(JsonNames.Columns);
            writer.WriteRawValue(_columns.Json, skipInputValidation: true);
            writer.WriteNull(JsonNames.Errors);
            writer.WritePropertyName(JsonNames.Record);
            WriteImage(writer, Record.Span);
            writer.WritePropertyName(JsonNames.OldRecord);
            WriteImage(writer, OldRecord.Span);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteImage(Utf8JsonWriter writer, ReadOnlySpan<byte> image)
    {
        if (image.IsEmpty)
        {
            writer.WriteNullValue();
        }
        else
        {
            // Validated when it was captured.
            writer.WriteRawValue(image, skipInputValidation: true);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"#{Sequence} {Kind} {Schema}.{Table}";
}
