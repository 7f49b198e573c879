using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// (d) Bytes allocated per event in steady state, publish and read. Each category's baseline builds only what a change
/// irreducibly is: the row JSON copied into its own array plus the <see cref="ChangeEvent"/> object (and, in the second
/// category, the Supabase <c>data</c> JSON of the whole change). Target: Notify and read allocate nothing more.
/// </summary>
/// <remarks>
/// Reads here are synchronous <c>TryRead</c> on the publishing thread, so no wait is involved; the cost of the async
/// wait and wake-up per event is in the Allocated column of <see cref="PublishDrainBenchmarks"/>, which counts the
/// allocations of every thread.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SteadyStateAllocationBenchmarks
{
    private const int RowCount = 1024;
    private const int RowMask = RowCount - 1;
    private const int ManyReaders = 16;

    private readonly OrderRow[] _rows = OrderRow.CreateMany(RowCount);
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private ChangeNotifier _notifier = null!;
    private ChangeTable _orders = null!;
    private ChangeReader _reader = null!;
    private ChangeReader[] _manyReaders = [];
    private int _nextRow;

    public SteadyStateAllocationBenchmarks() => _writer = new Utf8JsonWriter(_buffer);

    [GlobalSetup(Targets = [nameof(EventAndRowJson), nameof(NotifyThenTryRead), nameof(EventRowJsonAndDataJson)])]
    public void SetupOneReader()
    {
        Setup();
        _reader = _notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table));
    }

    [GlobalSetup(Targets = [nameof(NotifyThenTryReadManyReaders), nameof(NotifyThenReadDataJsonManyReaders)])]
    public void SetupManyReaders()
    {
        Setup();
        _manyReaders = new ChangeReader[ManyReaders];
        for (int i = 0; i < ManyReaders; i++)
        {
            _manyReaders[i] = _notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        long missed = (_reader?.Missed ?? 0) + _manyReaders.Sum(r => r.Missed);
        _reader?.Dispose();
        foreach (ChangeReader reader in _manyReaders)
        {
            reader.Dispose();
        }

        _notifier.Dispose();
        _writer.Dispose();
        if (missed != 0)
        {
            throw new InvalidOperationException($"A synchronous reader missed {missed} changes: the benchmark is wrong.");
        }
    }

    [BenchmarkCategory("Capture"), Benchmark(Baseline = true, Description = "Row JSON array + ChangeEvent, no ring")]
    public ChangeEvent EventAndRowJson() => NextRow().ToEvent(_orders, _writer, _buffer);

    [BenchmarkCategory("Capture"), Benchmark(Description = "Notify + TryRead, 1 reader")]
    public ChangeEvent NotifyThenTryRead()
    {
        _notifier.Notify(_orders, ChangeKind.Insert, NextRow(), OrderRow.Writer);
        return _reader.TryRead(out ChangeEvent? change) ? change : throw new InvalidOperationException("Nothing to read.");
    }

    [BenchmarkCategory("Capture"), Benchmark(Description = "Notify + TryRead, 16 readers")]
    public ChangeEvent NotifyThenTryReadManyReaders()
    {
        _notifier.Notify(_orders, ChangeKind.Insert, NextRow(), OrderRow.Writer);
        ChangeEvent? change = null;
        foreach (ChangeReader reader in _manyReaders)
        {
            if (!reader.TryRead(out change))
            {
                throw new InvalidOperationException("Nothing to read.");
            }
        }

        return change!;
    }

    [BenchmarkCategory("Capture+DataJson"), Benchmark(Baseline = true, Description = "Row JSON array + ChangeEvent + its data JSON, no ring")]
    public ReadOnlyMemory<byte> EventRowJsonAndDataJson() => NextRow().ToEvent(_orders, _writer, _buffer).GetUtf8Json();

    [BenchmarkCategory("Capture+DataJson"), Benchmark(Description = "Notify + TryRead + GetUtf8Json, 16 readers")]
    public ReadOnlyMemory<byte> NotifyThenReadDataJsonManyReaders()
    {
        _notifier.Notify(_orders, ChangeKind.Insert, NextRow(), OrderRow.Writer);
        ReadOnlyMemory<byte> json = default;
        foreach (ChangeReader reader in _manyReaders)
        {
            if (!reader.TryRead(out ChangeEvent? change))
            {
                throw new InvalidOperationException("Nothing to read.");
            }

            json = change.GetUtf8Json(); // every reader asks; it is built once
        }

        return json;
    }

    private void Setup()
    {
        _notifier = new ChangeNotifier();
        _orders = _notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        _orders.SetColumns(OrderRow.Columns);
    }

    private OrderRow NextRow() => _rows[_nextRow++ & RowMask];
}
