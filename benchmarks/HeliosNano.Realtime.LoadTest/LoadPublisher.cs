using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The publisher loop inside the server process, the same for every target: publishes <c>count</c> rows at
/// <c>rate</c> per second (0 = flat out), timing each publish call, until done, stopped or out of time.
/// </summary>
/// <remarks>
/// Flat out means "as fast as the server delivers": SignalR and the raw target push back by themselves (their send
/// awaits the sockets); HeliosNano's Notify never waits by design, so the loop itself keeps the average per-connection
/// backlog (published minus frames the adapter built) under <see cref="FlatOutWindow"/>, well inside the 1024-slot
/// ring. Without that, flat out would only measure how fast the ring overwrites itself.
/// </remarks>
internal abstract class LoadPublisher
{
    /// <summary>The flat-out backlog per connection: a quarter of the default ring, so an average reader never laps.</summary>
    public const long FlatOutWindow = 256;

    private readonly LatencyHistogram _notifyNs = new();
    private readonly Lock _gate = new();
    private CancellationTokenSource? _stop;
    private Task _loop = Task.CompletedTask;
    private long _published;
    private long _firstSequence;
    private long _lastSequence;
    private int _publishing;

    protected LoadPublisher(string note) => Note = note;

    public abstract string Target { get; }

    public abstract int Subscribers { get; }

    public virtual int AllSubscribers => Subscribers;

    public virtual long FramesBuilt => 0;

    public virtual long LaggedChanges => 0;

    public virtual long PolicyEvaluations => 0;

    protected string Note { get; }

    public void Start(double rate, long count, double maxSeconds)
    {
        lock (_gate)
        {
            if (Volatile.Read(ref _publishing) != 0)
            {
                throw new InvalidOperationException("A publish run is already in progress.");
            }

            _notifyNs.Reset();
            Interlocked.Exchange(ref _published, 0);
            Interlocked.Exchange(ref _firstSequence, 0);
            Interlocked.Exchange(ref _lastSequence, 0);
            Volatile.Write(ref _publishing, 1);
            _stop = new CancellationTokenSource();
            CancellationToken token = _stop.Token;
            _loop = Task.Run(() => RunAsync(rate, count, maxSeconds, token), CancellationToken.None);
        }
    }

    public async Task StopAsync()
    {
        Task loop;
        lock (_gate)
        {
            _stop?.Cancel();
            loop = _loop;
        }

        await loop;
    }

    public ServerStats GetStats(bool forceGc)
    {
        long managed = GC.GetTotalMemory(forceGc);
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        return new ServerStats
        {
            Target = Target,
            Subscribers = Subscribers,
            AllSubscribers = AllSubscribers,
            Publishing = Volatile.Read(ref _publishing) != 0,
            Published = Interlocked.Read(ref _published),
            FirstSequence = Interlocked.Read(ref _firstSequence),
            LastSequence = Interlocked.Read(ref _lastSequence),
            NotifyCount = _notifyNs.Count,
            NotifyP50Ns = _notifyNs.Percentile(50),
            NotifyP99Ns = _notifyNs.Percentile(99),
            NotifyMaxNs = _notifyNs.Max,
            FramesBuilt = FramesBuilt,
            LaggedChanges = LaggedChanges,
            PolicyEvaluations = PolicyEvaluations,
            ManagedBytes = managed,
            GcHeapBytes = info.HeapSizeBytes,
            GcCommittedBytes = info.TotalCommittedBytes,
            WorkingSetBytes = Environment.WorkingSet,
            AllocatedBytes = GC.GetTotalAllocatedBytes(false),
            Gen0Collections = GC.CollectionCount(0),
            Gen2Collections = GC.CollectionCount(2),
            ThreadPoolThreads = ThreadPool.ThreadCount,
            CpuMicroseconds = (long)Environment.CpuUsage.TotalTime.TotalMicroseconds,
        };
    }

    /// <summary>Gets a value indicating whether the current run is flat out (rate 0).</summary>
    protected bool FlatOut { get; private set; }

    /// <summary>Sends anything a target held back to batch (called before waiting and at the end of a run).</summary>
    protected virtual void Flush()
    {
    }

    /// <summary>The row the <paramref name="id"/>-th publish of a run carries (1-based), stamped <paramref name="sentTicks"/>.</summary>
    protected virtual OrderPayload.Row MakeRow(long id, long sentTicks) => new(id, sentTicks, Note);

    /// <summary>Publishes one row; returns its sequence.</summary>
    protected abstract ValueTask<long> PublishAsync(OrderPayload.Row row);

    /// <summary>Average undelivered frames per connection, for the flat-out throttle; 0 when the target pushes back itself.</summary>
    protected virtual long Backlog(long published, long framesAtStart) => 0;

    private async Task RunAsync(double rate, long count, double maxSeconds, CancellationToken cancellationToken)
    {
        try
        {
            long start = Stopwatch.GetTimestamp();
            long deadline = maxSeconds > 0 ? start + (long)(maxSeconds * Stopwatch.Frequency) : long.MaxValue;
            long framesAtStart = FramesBuilt;
            FlatOut = rate <= 0;
            for (long i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
            {
                if (rate > 0)
                {
                    // Paced: row i is due at start + i/rate; sleep while more than a millisecond early, publish late rows at once.
                    long due = start + (long)(i * Stopwatch.Frequency / rate);
                    while (Stopwatch.GetTimestamp() < due - (Stopwatch.Frequency / 1000))
                    {
                        await Task.Delay(1, CancellationToken.None);
                    }
                }
                else
                {
                    if (Backlog(i, framesAtStart) > FlatOutWindow)
                    {
                        Flush();
                    }

                    while (Backlog(i, framesAtStart) > FlatOutWindow && !cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline)
                    {
                        await Task.Delay(1, CancellationToken.None);
                    }
                }

                if (Stopwatch.GetTimestamp() >= deadline)
                {
                    break;
                }

                long t0 = Stopwatch.GetTimestamp();
                long sequence = await PublishAsync(MakeRow(i + 1, t0));
                long elapsed = Stopwatch.GetTimestamp() - t0;
                _notifyNs.Record((long)(elapsed * 1_000_000_000.0 / Stopwatch.Frequency), (int)i);
                if (i == 0)
                {
                    Interlocked.Exchange(ref _firstSequence, sequence);
                }

                Interlocked.Exchange(ref _lastSequence, sequence);
                Interlocked.Increment(ref _published);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await Console.Error.WriteLineAsync($"[server] publisher failed: {e}");
        }
        finally
        {
            Flush();
            Volatile.Write(ref _publishing, 0);
        }
    }
}
