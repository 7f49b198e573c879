using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using BenchmarkDotNet.Attributes;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// Diagnostic, not a target: where the time of one watched <c>Notify</c> goes, to explain the gap between Notify at one
/// reader and the one-channel baseline of <see cref="PublishCostBenchmarks"/>. The baseline builds the event alone; the
/// "essential ring publish" adds only what the ring must do (claim a sequence with an interlocked increment, publish
/// the slot with a compare-exchange); the last row is the per-call ownership check Notify does today
/// (<c>CheckOwnTable</c>: a <see cref="ConcurrentDictionary{TKey, TValue}"/> look-up keyed by the (schema, table) tuple).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class NotifyPathBreakdownBenchmarks
{
    private const int RowCount = 1024;
    private const int RowMask = RowCount - 1;

    private readonly OrderRow[] _rows = OrderRow.CreateMany(RowCount);
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly ChangeEvent?[] _slots = new ChangeEvent?[RowCount];
    private readonly ConcurrentDictionary<(string Schema, string Table), ChangeTable> _tables = new();
    private ChangeNotifier _notifier = null!;
    private ChangeTable _orders = null!;
    private ChangeReader _reader = null!;
    private long _tail;
    private int _nextRow;

    public NotifyPathBreakdownBenchmarks() => _writer = new Utf8JsonWriter(_buffer);

    [GlobalSetup]
    public void Setup()
    {
        _notifier = new ChangeNotifier();
        _orders = _notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        _orders.SetColumns(OrderRow.Columns);
        _reader = _notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table)); // idle: watched, never waits
        _tables[(OrderRow.Schema, OrderRow.Table)] = _orders;
        for (int i = 0; i < 9; i++)
        {
            _tables[(OrderRow.Schema, $"table_{i}")] = _notifier.GetTable(OrderRow.Schema, $"table_{i}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _notifier.Dispose();
        _writer.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Build the event only (row JSON + ChangeEvent)")]
    public ChangeEvent BuildEvent() => _rows[_nextRow++ & RowMask].ToEvent(_orders, _writer, _buffer);

    [Benchmark(Description = "Essential ring publish: build + Interlocked claim + CAS slot")]
    public ChangeEvent EssentialPublish()
    {
        ChangeEvent change = _rows[_nextRow++ & RowMask].ToEvent(_orders, _writer, _buffer);
        long sequence = Interlocked.Increment(ref _tail);
        ref ChangeEvent? slot = ref _slots[sequence & RowMask];
        Interlocked.CompareExchange(ref slot, change, Volatile.Read(ref slot));
        return change;
    }

    [Benchmark(Description = "Notify(table, …, row, rowWriter), 1 idle reader")]
    public long Notify() => _notifier.Notify(_orders, ChangeKind.Insert, _rows[_nextRow++ & RowMask], OrderRow.Writer);

    [Benchmark(Description = "CheckOwnTable's look-up alone: ConcurrentDictionary<(string, string), …>.TryGetValue")]
    public bool OwnershipLookup() => _tables.TryGetValue((_orders.Schema, _orders.Name), out ChangeTable? own) && ReferenceEquals(own, _orders);
}
