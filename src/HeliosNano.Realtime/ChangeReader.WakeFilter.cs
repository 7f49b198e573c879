namespace HeliosNano.Realtime;

public sealed partial class ChangeReader
{
    /// <summary>Bits of <see cref="_scan"/> that hold the sequence scanned through; the 16 bits above count waits.</summary>
    private const long ScanSequenceMask = (1L << 48) - 1;

    /// <summary>See <see cref="ChangeSubscriptionOptions.WakeFilter"/>; <see langword="null"/>: every change wakes the reader.</summary>
    private readonly Func<ChangeEvent, bool>? _wakeFilter;

    /// <summary>
    /// While the reader waits: the wait's generation (high 16 bits) and the last position the wake-up work item found
    /// not worth waking for (low 48 bits). A new wait starts a new generation at the cursor, so a judgement made for an
    /// earlier wait, perhaps against an earlier state of the wake filter, is never carried into a later one.
    /// </summary>
    private long _scan;

    internal bool HasWakeFilter => _wakeFilter is not null;

    /// <summary>Starts a wait's scan at the cursor; the consumer calls it before registering the waiter.</summary>
    internal void BeginWakeScan()
    {
        long generation = ((Volatile.Read(ref _scan) >>> 48) + 1) & 0xFFFF;
        Interlocked.Exchange(ref _scan, (generation << 48) | (Math.Max(0, _next - 1) & ScanSequenceMask));
    }

    /// <summary>
    /// On the wake-up work item, for a waiting reader with a wake filter: whether anything published up to
    /// <paramref name="last"/> must wake it — a change its filter and wake filter admit, a lap or a loss to report, or a
    /// backlog of half the ring (so it moves past what it skips before the ring overwrites it).
    /// </summary>
    internal bool ShouldWake(long last)
    {
        long cursor = Volatile.Read(ref _next) - 1;
        if (last - cursor >= _notifier.Capacity / 2 || last >= ScanSequenceMask)
        {
            return true;
        }

        long scan = Volatile.Read(ref _scan);
        long scanned = Math.Max(scan & ScanSequenceMask, cursor);
        long from = scanned + 1;
        ChangeFilter filter = Volatile.Read(ref _filter);
        for (long s = from; s <= last; s++)
        {
            ChangeEvent? slot = _notifier.ReadSlot(s);
            if (slot is null || slot._sequence < s)
            {
                break; // not published yet: its writer's publish schedules another wake-up, which resumes here
            }

            if (slot._sequence > s)
            {
                return true; // lapped: the reader must report it
            }

            if (!slot.IsVoid && (slot.IsGap || filter.Matches(slot.Schema, slot.Table, slot.Kind)) && (slot.IsLost || Wants(slot)))
            {
                return true;
            }

            scanned = s;
        }

        if (scanned >= from)
        {
            // Only if no new wait began meanwhile (and no other wake-up moved it): a stale advance would skip changes.
            Interlocked.CompareExchange(ref _scan, (scan & ~ScanSequenceMask) | scanned, scan);
        }

        return false;
    }

    private bool Wants(ChangeEvent change)
    {
        try
        {
            return _wakeFilter!(change);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return true; // the reader will find out itself
        }
    }
}
