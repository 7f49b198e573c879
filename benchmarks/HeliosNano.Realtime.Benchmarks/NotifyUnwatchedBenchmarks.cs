using BenchmarkDotNet.Attributes;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// (a) What a commit hook pays to notify a change of a table nobody watches, while ten other tables are watched (a
/// realistic registry): the <see cref="ChangeTable"/>-handle overload and the by-name overload, against one
/// <see cref="Dictionary{TKey, TValue}.TryGetValue"/> miss on a dictionary holding the ten watched table names.
/// Target: 0 bytes allocated and within 2× of the dictionary look-up.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class NotifyUnwatchedBenchmarks
{
    private const int WatchedTables = 10;

    private readonly OrderRow _row = OrderRow.CreateMany(1)[0];
    private readonly Dictionary<string, object> _watchedByName = new(StringComparer.Ordinal);
    private readonly List<ChangeReader> _readers = [];
    private ChangeNotifier _notifier = null!;
    private ChangeTable _orders = null!;

    // Fields, not literals, so the JIT cannot fold anything about the names.
    private string _schema = null!;
    private string _table = null!;

    [GlobalSetup]
    public void Setup()
    {
        _notifier = new ChangeNotifier();
        for (int i = 0; i < WatchedTables; i++)
        {
            string name = $"table_{i}";
            _readers.Add(_notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, name)));
            _watchedByName.Add(name, new object());
        }

        _schema = new string(OrderRow.Schema.AsSpan());
        _table = new string(OrderRow.Table.AsSpan());
        _orders = _notifier.GetTable(_schema, _table);
        _orders.SetColumns(OrderRow.Columns);
        if (_orders.IsWatched || _notifier.GetSubscriberCount("public", "table_3") != 1)
        {
            throw new InvalidOperationException("Setup is wrong: orders must be unwatched and the ten other tables watched.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (ChangeReader reader in _readers)
        {
            reader.Dispose();
        }

        _notifier.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Dictionary<string, object>.TryGetValue (miss)")]
    public bool DictionaryTryGetValue() => _watchedByName.TryGetValue(_table, out _);

    [Benchmark(Description = "Notify(ChangeTable, …, state, rowWriter)")]
    public long NotifyWithTableHandle() => _notifier.Notify(_orders, ChangeKind.Insert, _row, OrderRow.Writer);

    [Benchmark(Description = "Notify(\"public\", \"orders\", …, state, rowWriter)")]
    public long NotifyByName() => _notifier.Notify(_schema, _table, ChangeKind.Insert, _row, OrderRow.Writer);

    [Benchmark(Description = "IsWatched(\"public\", \"orders\")")]
    public bool IsWatchedByName() => _notifier.IsWatched(_schema, _table);
}
