using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// (b) Publish a batch of <see cref="EventsPerInvocation"/> order inserts and have <see cref="Readers"/> concurrent
/// in-process readers drain every one of them, against the System.Threading.Channels way: one bounded channel of 1024
/// per reader (<see cref="BoundedChannelFullMode.DropOldest"/>, the mode that never blocks the commit hook), the
/// publisher writing each event to every channel.
/// </summary>
/// <remarks>
/// <para>
/// One operation is one published event; the <c>Delivered/s</c> column is <c>Readers / Mean</c>. Target: at 16 readers,
/// at least 4× the delivered events per second of the Channels baseline.
/// </para>
/// <para>
/// Both sides are what a user would write: long-lived reader tasks doing <c>await foreach (… ReadAllAsync(token))</c>
/// with a cancellable token (a connection's lifetime), started once in the global setup, so an invocation measures
/// steady state. The publisher (BenchmarkDotNet's thread) writes the batch, then blocks until every reader has counted
/// the whole batch. Both sides publish the identical <see cref="ChangeEvent"/> (row JSON written with a
/// <see cref="Utf8JsonWriter"/> in the row callback and copied into its own array), so only the fan-out differs. A batch
/// of 1000 fits both the 1024-slot ring and a 1024-item channel, so neither side can lag or drop; the global cleanup
/// checks that nothing was missed or dropped. Lag semantics are not apples to apples: a DropOldest channel drops
/// silently (unless the user counts in <c>itemDropped</c>) whereas a lapped ring reader is told how many it missed.
/// </para>
/// <para>
/// The machine has 2 cores shared by the publisher and all reader tasks (the thread pool starts at 2 workers), so
/// this measures CPU cost per delivery under contention, not parallel speed-up.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[ThreadingDiagnoser]
[Config(typeof(DeliveredConfig))]
public class PublishDrainBenchmarks
{
    public const int EventsPerInvocation = 1000;

    private const int ChannelCapacity = 1024;

    private readonly OrderRow[] _rows = OrderRow.CreateMany(EventsPerInvocation);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private CountdownEvent _drained = null!;
    private Task[] _readerTasks = [];

    /// <summary>How many events each reader must have counted when the current batch is drained; raised before each batch.</summary>
    private long _expected;

    private ChangeNotifier _notifier = null!;
    private ChangeTable _orders = null!;
    private ChangeReader[] _readers = [];
    private Channel<ChangeEvent>[] _channels = [];
    private long _dropped;

    public PublishDrainBenchmarks() => _writer = new Utf8JsonWriter(_buffer);

    [Params(1, 4, 16)]
    public int Readers { get; set; }

    [GlobalSetup(Target = nameof(Channels))]
    public void SetupChannels()
    {
        Setup();
        _channels = new Channel<ChangeEvent>[Readers];
        _readerTasks = new Task[Readers];
        for (int i = 0; i < Readers; i++)
        {
            _channels[i] = Channel.CreateBounded<ChangeEvent>(
                new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                _ => Interlocked.Increment(ref _dropped));
            ChannelReader<ChangeEvent> reader = _channels[i].Reader;
            _readerTasks[i] = Task.Run(() => DrainChannelAsync(reader, _lifetime.Token));
        }
    }

    [GlobalSetup(Target = nameof(HeliosRing))]
    public void SetupRing()
    {
        Setup();
        _readers = new ChangeReader[Readers];
        _readerTasks = new Task[Readers];
        for (int i = 0; i < Readers; i++)
        {
            ChangeReader reader = _notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table));
            _readers[i] = reader;
            _readerTasks[i] = Task.Run(() => DrainRingAsync(reader, _lifetime.Token));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // Completing ends both kinds of reader loop normally, after they drained what is left (nothing, by now).
        foreach (Channel<ChangeEvent> channel in _channels)
        {
            channel.Writer.TryComplete();
        }

        _notifier.Complete();
        Task.WaitAll(_readerTasks, TimeSpan.FromSeconds(30));
        long missed = _readers.Sum(r => r.Missed);
        foreach (ChangeReader reader in _readers)
        {
            reader.Dispose();
        }

        _notifier.Dispose();
        _lifetime.Dispose();
        _drained.Dispose();
        _writer.Dispose();
        if (missed != 0 || Interlocked.Read(ref _dropped) != 0)
        {
            throw new InvalidOperationException($"Not apples to apples: ring readers missed {missed}, channels dropped {_dropped}.");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = EventsPerInvocation, Description = "Channels: bounded(1024, DropOldest) per reader")]
    public void Channels()
    {
        BeginBatch();
        Channel<ChangeEvent>[] channels = _channels;
        foreach (OrderRow row in _rows)
        {
            ChangeEvent change = row.ToEvent(_orders, _writer, _buffer);
            foreach (Channel<ChangeEvent> channel in channels)
            {
                channel.Writer.TryWrite(change); // DropOldest: always true, never waits
            }
        }

        EndBatch();
    }

    [Benchmark(OperationsPerInvoke = EventsPerInvocation, Description = "HeliosNano ring: Notify, readers share it")]
    public void HeliosRing()
    {
        BeginBatch();
        foreach (OrderRow row in _rows)
        {
            _notifier.Notify(_orders, ChangeKind.Insert, row, OrderRow.Writer);
        }

        EndBatch();
    }

    private void Setup()
    {
        _notifier = new ChangeNotifier();
        _orders = _notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        _orders.SetColumns(OrderRow.Columns);
        _drained = new CountdownEvent(Readers);
        _expected = 0;
    }

    private void BeginBatch()
    {
        // Every reader signalled the previous batch before EndBatch returned, so nobody can signal the new one early.
        _drained.Reset(Readers);
        Volatile.Write(ref _expected, _expected + EventsPerInvocation);
    }

    private void EndBatch()
    {
        if (!_drained.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("The readers did not drain the batch: an event was lost.");
        }
    }

    private async Task DrainRingAsync(ChangeReader reader, CancellationToken cancellationToken)
    {
        long received = 0;
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            received += change.Record.IsEmpty ? 0 : 1; // touch the event, as any consumer would
            if (received == Volatile.Read(ref _expected))
            {
                _drained.Signal();
            }
        }
    }

    private async Task DrainChannelAsync(ChannelReader<ChangeEvent> reader, CancellationToken cancellationToken)
    {
        long received = 0;
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            received += change.Record.IsEmpty ? 0 : 1;
            if (received == Volatile.Read(ref _expected))
            {
                _drained.Signal();
            }
        }
    }
}
