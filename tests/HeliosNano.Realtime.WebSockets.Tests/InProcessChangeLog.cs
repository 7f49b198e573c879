namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>
/// A fake scale-out backplane for unit tests: it numbers every change into an in-memory log before the ring gets it
/// (as the Redis backplane does through its stream), and reads that log back as an <see cref="IChangeHistory"/>, with
/// knobs for what a real log does: trimming, gaps, epoch jumps, failures, small reads.
/// </summary>
internal sealed class InProcessChangeLog : IChangeSequencer, IChangeHistory
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Entry> _entries = [];
    private readonly List<(long First, long Last)> _voids = [];
    private SequencedChangeWriter? _writer;
    private int _reads;
    private long _lastRequested;

    /// <summary>Gets or sets how many positions one read covers at most.</summary>
    public int ReadBatch { get; set; } = 100;

    /// <summary>Gets or sets the last position the log no longer holds (trimmed): older positions read as lost.</summary>
    public long TrimmedThrough { get; set; }

    /// <summary>Gets or sets a value indicating whether reads complete asynchronously (after a yield) rather than at once.</summary>
    public bool Asynchronous { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether reads throw, as a Redis that does not answer.</summary>
    public bool Fail { get; set; }

    /// <summary>Gets the highest last position a read asked for.</summary>
    public long LastRequested => Interlocked.Read(ref _lastRequested);

    /// <summary>Gets how many reads were made.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Gets the last position numbered.</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _writer!.LastSequence;
            }
        }
    }

    public void Attach(SequencedChangeWriter writer) => _writer = writer;

    public void Submit(ChangeEvent change)
    {
        lock (_gate)
        {
            long sequence = _writer!.LastSequence + 1;
            _entries[sequence] = new Entry(change);
            _writer.Publish(sequence, _writer.Notifier.GetTable(change.Schema, change.Table), change.Kind, change.Record.Span, change.OldRecord.Span, change.CommitTimestamp, change.Columns);
        }
    }

    public void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp)
    {
        lock (_gate)
        {
            long sequence = _writer!.LastSequence + 1;
            _writer.PublishLost(sequence, sequence); // no entry: lost in the log too
        }
    }

    /// <summary>Jumps the sequence by <paramref name="count"/> void positions, as a new epoch does.</summary>
    public void Jump(long count)
    {
        lock (_gate)
        {
            long first = _writer!.LastSequence + 1;
            _voids.Add((first, first + count - 1));
            _writer.PublishVoid(first, first + count - 1);
        }
    }

    public async ValueTask ReadAsync(ChangeHistoryPage page, long lastSequence, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        if (lastSequence > Interlocked.Read(ref _lastRequested))
        {
            Interlocked.Exchange(ref _lastRequested, lastSequence);
        }

        if (Asynchronous)
        {
            await Task.Yield();
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (Fail)
        {
            throw new InvalidOperationException("the log does not answer");
        }

        long end = Math.Min(lastSequence, page.LastSequence + ReadBatch);
        lock (_gate)
        {
            for (long position = page.LastSequence + 1; position <= end; position++)
            {
                if (_voids.FirstOrDefault(v => v.First <= position && position <= v.Last) is { Last: > 0 } jump)
                {
                    page.AddVoid(position, Math.Min(jump.Last, end));
                    position = page.LastSequence;
                }
                else if (position <= TrimmedThrough || !_entries.TryGetValue(position, out Entry? entry))
                {
                    page.AddLost(position, position);
                }
                else
                {
                    ChangeEvent change = entry.Change;
                    page.AddChange(position, page.Notifier.GetTable(change.Schema, change.Table), change.Kind, change.Record.Span, change.OldRecord.Span, change.CommitTimestamp, change.Columns);
                }
            }
        }
    }

    private sealed record Entry(ChangeEvent Change);
}
