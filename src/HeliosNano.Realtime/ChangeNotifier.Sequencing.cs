namespace HeliosNano.Realtime;

public sealed partial class ChangeNotifier
{
    /// <summary>The attached sequencer, or <see langword="null"/> on a single node (the notifier numbers changes itself).</summary>
    private IChangeSequencer? _sequencer;

    /// <summary>How many changes were handed to <see cref="_sequencer"/>: what <c>Notify</c> returns with a sequencer.</summary>
    private long _submitted;

    /// <summary>The highest position the shared log is known to hold, possibly above <see cref="LastSequence"/>.</summary>
    private long _knownSequence;

    /// <summary>Gets the sequencer attached with <see cref="UseSequencer"/>, or <see langword="null"/>.</summary>
    public IChangeSequencer? Sequencer => Volatile.Read(ref _sequencer);

    /// <summary>
    /// Gets the highest sequence number known to exist: <see cref="LastSequence"/>, or, with a sequencer, the shared
    /// log's top as last reported (<see cref="SequencedChangeWriter.ReportKnownSequence"/>) when this ring has not
    /// caught up with it yet. A subscription may resume after any position up to this one.
    /// </summary>
    public long KnownSequence => Math.Max(LastSequence, Volatile.Read(ref _knownSequence));

    /// <summary>
    /// Attaches a sequencer (a scale-out backplane): from now on changes notified here are handed to it instead of being
    /// numbered locally, every table counts as watched, and only the returned writer publishes into the ring.
    /// </summary>
    /// <param name="sequencer">The sequencer; <see cref="IChangeSequencer.Attach"/> is called with the writer before this returns.</param>
    /// <returns>The ring's only writer from now on (the same one <see cref="IChangeSequencer.Attach"/> received).</returns>
    /// <exception cref="InvalidOperationException">A sequencer is already attached, or a change was already published locally.</exception>
    public SequencedChangeWriter UseSequencer(IChangeSequencer sequencer)
    {
        ArgumentNullException.ThrowIfNull(sequencer);
        ObjectDisposedException.ThrowIf(IsCompleted, this);
        if (LastSequence != 0)
        {
            throw new InvalidOperationException("A sequencer must be attached before the first change is published.");
        }

        if (Interlocked.CompareExchange(ref _sequencer, sequencer, null) is not null)
        {
            throw new InvalidOperationException("A sequencer is already attached to this notifier.");
        }

        // A standing whole-database entry: another node may watch any table, so every change goes to the log.
        _registry.Update(ChangeFilter.All, null);
        var writer = new SequencedChangeWriter(this);
        sequencer.Attach(writer);
        return writer;
    }

    private long Submit(IChangeSequencer sequencer, ChangeEvent change)
    {
        long ticket = Interlocked.Increment(ref _submitted);
        if (change.IsLost)
        {
            sequencer.SubmitLost(change.TableHandle, change.Kind, change.CommitTimestamp);
        }
        else
        {
            sequencer.Submit(change);
        }

        return ticket;
    }

    internal void ReportKnownSequence(long sequence)
    {
        long known = Volatile.Read(ref _knownSequence);
        while (sequence > known)
        {
            long seen = Interlocked.CompareExchange(ref _knownSequence, sequence, known);
            if (seen == known)
            {
                return;
            }

            known = seen;
        }
    }

    /// <summary>Moves the tail to <paramref name="last"/> for the single sequenced writer; <see langword="false"/> once completed.</summary>
    internal bool AdvanceTail(long expectedTail, long last)
    {
        // A compare-exchange, not a store: Complete sets a bit in the same word and must not be overwritten.
        return Interlocked.CompareExchange(ref _tail.Value, last, expectedTail) == expectedTail;
    }

    /// <summary>Publishes <paramref name="change"/> at <paramref name="sequence"/>; the caller is the single sequenced writer.</summary>
    internal bool PublishSequenced(ChangeEvent change, long sequence)
    {
        long tail = sequence - 1;
        if (!AdvanceTail(tail, sequence))
        {
            return false;
        }

        change._sequence = sequence;
        PublishToSlot(change, sequence);
        return true;
    }

    /// <summary>The latest ranges of positions a sequence jump declared void (never held a change), oldest first; replaced, never mutated.</summary>
    private (long First, long Last)[] _voidRanges = [];

    /// <summary>How many of the void ranges are remembered: enough for the jumps a lapped reader can pass in one read.</summary>
    private const int MaxVoidRanges = 16;

    /// <summary>Returns how many positions of <paramref name="first"/>..<paramref name="last"/> lie in a void range.</summary>
    internal long CountVoid(long first, long last)
    {
        long count = 0;
        foreach ((long voidFirst, long voidLast) in Volatile.Read(ref _voidRanges))
        {
            long from = Math.Max(first, voidFirst);
            long to = Math.Min(last, voidLast);
            if (to >= from)
            {
                count += to - from + 1;
            }
        }

        return count;
    }

    /// <summary>Publishes void markers for <paramref name="first"/>..<paramref name="last"/>: positions that never held a change.</summary>
    internal bool PublishVoid(long first, long last)
    {
        // Remembered before the tail moves (the compare-exchange below is a full fence): a reader lapped past the
        // range computes its resume point from the tail, so it also sees the range and does not count it.
        (long, long)[] ranges = Volatile.Read(ref _voidRanges);
        Volatile.Write(ref _voidRanges, [.. ranges.Skip(Math.Max(0, ranges.Length - MaxVoidRanges + 1)), (first, last)]);
        if (!AdvanceTail(first - 1, last))
        {
            return false;
        }

        for (long sequence = Math.Max(first, last - _slots.Length + 1); sequence <= last; sequence++)
        {
            PublishToSlot(ChangeEvent.CreateVoid(sequence), sequence);
        }

        return true;
    }

    /// <summary>Publishes gap markers for <paramref name="first"/>..<paramref name="last"/>; only the newest <see cref="Capacity"/> need a slot.</summary>
    internal bool PublishGap(long first, long last)
    {
        if (!AdvanceTail(first - 1, last))
        {
            return false;
        }

        // Older positions of the range are overwritten by newer ones anyway: a reader at one of them finds a later
        // position in its slot and counts everything up to the oldest still held as lag, exactly.
        for (long sequence = Math.Max(first, last - _slots.Length + 1); sequence <= last; sequence++)
        {
            PublishToSlot(ChangeEvent.CreateGap(sequence), sequence);
        }

        return true;
    }
}
