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
    private void WakeAll(bool fromWorkItem = false)
    {
        // Re-arm before taking the list: a writer that publishes after we took it sees 0 here and queues a new wake-up
        // for any reader that registered after the take.
        Interlocked.Exchange(ref _wakeScheduled.Value, 0);

        ChangeReader.Waiter[] batch;
        int count;
        lock (_waitersGate)
        {
            count = _waiters.Count;
            if (count == 0)
            {
                return;
            }

            batch = ArrayPool<ChangeReader.Waiter>.Shared.Rent(count);
            for (int i = 0; i < count; i++)
            {
                ChangeReader.Waiter waiter = _waiters[i];
                waiter.ListIndex = -1;
                batch[i] = waiter;
            }

            _waiters.Clear();
            Interlocked.Exchange(ref _waiterCount.Value, 0);
        }

        // Complete outside the lock. Continuations are queued, except the last one's when we already are a pool work item.
        for (int i = 0; i < count; i++)
        {
            batch[i].TrySignal(true, inline: fromWorkItem && i == count - 1);
        }

        ArrayPool<ChangeReader.Waiter>.Shared.Return(batch, clearArray: true);
    }

    /// <summary>Runs <see cref="WakeAll"/> on the thread pool; one instance per notifier, reused for every wake-up.</summary>
    private sealed class WakeWorkItem(ChangeNotifier notifier) : IThreadPoolWorkItem
    {
        public void Execute() => notifier.WakeAll(fromWorkItem: true);
    }
}
