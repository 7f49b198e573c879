using System.Buffers;

namespace HeliosNano.Realtime;

public sealed partial class ChangeNotifier
{
    /// <summary>Registers <paramref name="waiter"/> as waiting; the full fence of the interlocked count update orders it before the caller's re-check of the ring.</summary>
    internal void AddWaiter(ChangeReader.Waiter waiter)
    {
        lock (_waitersGate)
        {
            waiter.ListIndex = _waiters.Count;
            _waiters.Add(waiter);
            waiter.MarkArmed();
            Interlocked.Increment(ref _waiterCount.Value);
        }
    }

    /// <summary>Removes <paramref name="waiter"/> if it is still registered (a wake-up may already have taken it).</summary>
    internal void RemoveWaiter(ChangeReader.Waiter waiter)
    {
        lock (_waitersGate)
        {
            int index = waiter.ListIndex;
            if (index < 0)
            {
                return;
            }

            // Swap-remove keeps this O(1); order among waiters does not matter.
            int last = _waiters.Count - 1;
            ChangeReader.Waiter moved = _waiters[last];
            _waiters[index] = moved;
            moved.ListIndex = index;
            _waiters.RemoveAt(last);
            waiter.ListIndex = -1;
            Interlocked.Decrement(ref _waiterCount.Value);
        }
    }

    /// <param name="fromWorkItem">
    /// True on the wake-up work item: the last waiter of the batch then runs its continuation inline on this pool
    /// thread, saving it a second thread-pool hop; the others are queued, so no reader waits behind another.
    /// </param>
    /// <param name="all">True when the notifier completes: every waiter wakes, wake filters or not.</param>
    /// <remarks>
    /// A waiter whose reader has a <see cref="ChangeSubscriptionOptions.WakeFilter"/> stays registered while nothing
    /// published since its last scan concerns it (<see cref="ChangeReader.ShouldWake"/>), so the waiter count stays
    /// non-zero and the next publish schedules another wake-up that resumes its scan: nothing it wants is missed.
    /// </remarks>
    private void WakeAll(bool fromWorkItem = false, bool all = false)
    {
        // Re-arm before taking the list: a writer that publishes after we took it sees 0 here and queues a new wake-up
        // for any reader that registered after the take (and for the filtered ones we leave registered).
        Interlocked.Exchange(ref _wakeScheduled.Value, 0);

        ChangeReader.Waiter[] batch;
        ChangeReader.Waiter[]? filtered = null;
        int count, checks = 0;
        lock (_waitersGate)
        {
            count = _waiters.Count;
            if (count == 0)
            {
                return;
            }

            batch = ArrayPool<ChangeReader.Waiter>.Shared.Rent(count);
            int taken = 0, kept = 0;
            for (int i = 0; i < count; i++)
            {
                ChangeReader.Waiter waiter = _waiters[i];
                if (!all && waiter.Reader.HasWakeFilter)
                {
                    // Stays in the list (compacted in place) until its scan finds a reason to wake it.
                    waiter.ListIndex = kept;
                    _waiters[kept++] = waiter;
                    (filtered ??= ArrayPool<ChangeReader.Waiter>.Shared.Rent(count))[checks++] = waiter;
                }
                else
                {
                    waiter.ListIndex = -1;
                    batch[taken++] = waiter;
                }
            }

            _waiters.RemoveRange(kept, count - kept);
            Interlocked.Exchange(ref _waiterCount.Value, kept);
            count = taken;
        }

        // Complete outside the lock. Continuations are queued, except the last one's when we already are a pool work
        // item and no filtered waiter remains to be scanned after it.
        for (int i = 0; i < count; i++)
        {
            batch[i].TrySignal(true, inline: fromWorkItem && checks == 0 && i == count - 1);
        }

        ArrayPool<ChangeReader.Waiter>.Shared.Return(batch, clearArray: true);
        if (filtered is not null)
        {
            // Read after the take: every change published before a writer saw our re-arm is covered by this scan or
            // by the wake-up that writer queued.
            long last = LastSequence;
            for (int i = 0; i < checks; i++)
            {
                // A waiter signalled or re-armed meanwhile gets at worst one spurious wake-up: a wait ends on a check.
                if (filtered[i].Reader.ShouldWake(last))
                {
                    filtered[i].TrySignal(true);
                }
            }

            ArrayPool<ChangeReader.Waiter>.Shared.Return(filtered, clearArray: true);
        }
    }

    /// <summary>Runs <see cref="WakeAll"/> on the thread pool; one instance per notifier, reused for every wake-up.</summary>
    private sealed class WakeWorkItem(ChangeNotifier notifier) : IThreadPoolWorkItem
    {
        public void Execute() => notifier.WakeAll(fromWorkItem: true);
    }
}
