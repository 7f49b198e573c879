using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>What the subscribed readers do while the publisher is measured.</summary>
public enum ReaderActivity
{
    /// <summary>Subscribed but not reading (busy elsewhere, or a slow client): the ring laps them, the channels stay full and drop their oldest.</summary>
    Idle,

    /// <summary>Each reader drains with <c>await foreach</c> on its own task, so the publisher also pays for waking them.</summary>
    Draining,
}

/// <summary>
/// (c) The cost of one publish as the number of subscribed readers grows: one <c>Notify</c> (row written in the row
/// callback) against writing the identical event to one bounded channel (1024, DropOldest) per reader.
/// Target: at 16 readers, Notify costs at most 1.5× what it costs at 1 reader.
/// </summary>
/// <remarks>
/// With <see cref="ReaderActivity.Draining"/> readers the two cores are shared between the measured publisher and the
/// reader tasks, so the time per publish includes the publisher's share of that contention (wake-ups, cache-line
/// traffic, being descheduled); with <see cref="ReaderActivity.Idle"/> readers it is the publisher's own work alone.
/// </remarks>
[MemoryDiagnoser]
[ThreadingDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class PublishCostBenchmarks
{
    private const int RowCount = 1024;
    private const int RowMask = RowCount - 1;
    private const int ChannelCapacity = 1024;

    private readonly OrderRow[] _rows = OrderRow.CreateMany(RowCount);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private ChangeNotifier _notifier = null!;
    private ChangeTable _orders = null!;
    private ChangeReader[] _readers = [];
    private Channel<ChangeEvent>[] _channels = [];
    private Task[] _readerTasks = [];
    private int _nextRow;

    public PublishCostBenchmarks() => _writer = new Utf8JsonWriter(_buffer);

    [Params(1, 4, 16, 64)]
    public int Readers { get; set; }

    [Params(ReaderActivity.Idle, ReaderActivity.Draining)]
    public ReaderActivity Activity { get; set; }

    [GlobalSetup(Target = nameof(Channels))]
    public void SetupChannels()
    {
        Setup();
        _channels = new Channel<ChangeEvent>[Readers];
        _readerTasks = new Task[Activity == ReaderActivity.Draining ? Readers : 0];
        for (int i = 0; i < Readers; i++)
        {
            _channels[i] = Channel.CreateBounded<ChangeEvent>(
                new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
            if (Activity == ReaderActivity.Draining)
            {
                ChannelReader<ChangeEvent> reader = _channels[i].Reader;
                _readerTasks[i] = Task.Run(() => DrainChannelAsync(reader, _lifetime.Token));
            }
        }
    }

    [GlobalSetup(Target = nameof(Notify))]
    public void SetupRing()
    {
        Setup();
        _readers = new ChangeReader[Readers];
        _readerTasks = new Task[Activity == ReaderActivity.Draining ? Readers : 0];
        for (int i = 0; i < Readers; i++)
        {
            ChangeReader reader = _notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table));
            _readers[i] = reader;
            if (Activity == ReaderActivity.Draining)
            {
                _readerTasks[i] = Task.Run(() => DrainRingAsync(reader, _lifetime.Token));
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Channel<ChangeEvent> channel in _channels)
        {
            channel.Writer.TryComplete();
        }

        _notifier.Complete();
        Task.WaitAll(_readerTasks, TimeSpan.FromSeconds(30));
        foreach (ChangeReader reader in _readers)
        {
            reader.Dispose();
        }

        _notifier.Dispose();
        _lifetime.Dispose();
        _writer.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Channels: TryWrite to each bounded(1024, DropOldest)")]
    public ChangeEvent Channels()
    {
        ChangeEvent change = _rows[_nextRow++ & RowMask].ToEvent(_orders, _writer, _buffer);
        foreach (Channel<ChangeEvent> channel in _channels)
        {
            channel.Writer.TryWrite(change);
        }

        return change;
    }

    [Benchmark(Description = "HeliosNano: Notify(table, …, row, rowWriter)")]
    public long Notify() => _notifier.Notify(_orders, ChangeKind.Insert, _rows[_nextRow++ & RowMask], OrderRow.Writer);

    private void Setup()
    {
        _notifier = new ChangeNotifier();
        _orders = _notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        _orders.SetColumns(OrderRow.Columns);
    }

    private static async Task DrainRingAsync(ChangeReader reader, CancellationToken cancellationToken)
    {
        long bytes = 0;
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            bytes += change.Record.Length;
        }

        GC.KeepAlive(bytes);
    }

    private static async Task DrainChannelAsync(ChannelReader<ChangeEvent> reader, CancellationToken cancellationToken)
    {
        long bytes = 0;
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            bytes += change.Record.Length;
        }

        GC.KeepAlive(bytes);
    }
}
