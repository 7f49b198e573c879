using System.Diagnostics;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// The bounded queue between the commit path and Redis: <see cref="TryAdd(byte[])"/> never waits, the append pump takes batches
/// from the front and removes them once Redis has them, and what did not fit is counted and becomes one gap item.
/// </summary>
/// <remarks>
/// A lock keeps the order of the commit threads (the order of the local <c>Notify</c> calls) and makes "dropped, then
/// a gap before the next change" atomic; it is held for a queue operation only, never across I/O.
/// </remarks>
internal sealed class RedisOutbox
{
    private readonly Lock _gate = new();
    private readonly Queue<Item> _items = new();
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private long _bytes;

    /// <summary>Changes dropped since the last gap item was queued: the next gap's size.</summary>
    private long _pendingDropped;
    private long _droppedTotal;

    public RedisOutbox(int capacity, long maxBytes, TimeProvider time)
    {
        _capacity = capacity;
        _maxBytes = maxBytes;
        _time = time;
    }

    /// <summary>Raised (outside the lock) when an item was queued.</summary>
    public event Action? ItemQueued;

    /// <summary>Gets how many items (changes and gaps) wait for Redis.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Gets how many changes were dropped in total because the outbox was full.</summary>
    public long DroppedTotal => Interlocked.Read(ref _droppedTotal);

    /// <summary>Gets whether changes are being dropped right now (dropped ones not yet queued as a gap).</summary>
    public bool IsDropping => Interlocked.Read(ref _pendingDropped) > 0;

    /// <summary>Gets how long the oldest waiting item has waited, or zero.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            lock (_gate)
            {
                return _items.TryPeek(out Item oldest) ? _time.GetElapsedTime(oldest.QueuedAt) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>Queues a change, or counts it as dropped when the outbox is full; never waits.</summary>
    public bool TryAdd(byte[] entry) => TryAdd(new Item(entry, 0, _time.GetTimestamp()));

    /// <summary>Queues <paramref name="count"/> lost positions (a change the host could not capture whole).</summary>
    public bool TryAddLost(long count) => TryAdd(new Item(null, count, _time.GetTimestamp()));

    /// <summary>Copies up to <paramref name="max"/> items from the front into <paramref name="batch"/>, without removing them.</summary>
    public void Peek(List<Item> batch, int max, long maxBytes)
    {
        batch.Clear();
        bool queued = false;
        lock (_gate)
        {
            if (_items.Count == 0 && _pendingDropped > 0)
            {
                // Nothing came after the drops: report them now rather than with the next change.
                queued = QueueGap();
            }

            long bytes = 0;
            foreach (Item item in _items)
            {
                if (batch.Count == max || (batch.Count > 0 && bytes + item.Size > maxBytes))
                {
                    break;
                }

                batch.Add(item);
                bytes += item.Size;
            }
        }

        Debug.Assert(!queued || batch.Count > 0);
    }

    /// <summary>Removes the first <paramref name="count"/> items: Redis has them.</summary>
    public void Remove(int count)
    {
        lock (_gate)
        {
            for (int i = 0; i < count; i++)
            {
                _bytes -= _items.Dequeue().Size;
            }
        }
    }

    private bool TryAdd(Item item)
    {
        lock (_gate)
        {
            if (_items.Count >= _capacity || _bytes + item.Size > _maxBytes)
            {
                long dropped = item.Entry is null ? item.GapCount : 1;
                _pendingDropped += dropped;
                Interlocked.Add(ref _droppedTotal, dropped);
                return false;
            }

            if (_pendingDropped > 0)
            {
                QueueGap(); // the drops come before this change, at the same point on every node
            }

            _items.Enqueue(item);
            _bytes += item.Size;
        }

        ItemQueued?.Invoke();
        return true;
    }

    private bool QueueGap()
    {
        // A gap item is allowed past the capacity: there is at most one between two changes.
        var gap = new Item(null, _pendingDropped, _time.GetTimestamp());
        _items.Enqueue(gap);
        _bytes += gap.Size;
        Interlocked.Exchange(ref _pendingDropped, 0);
        return true;
    }

    /// <summary>One queued item: an encoded change, or a gap of <see cref="GapCount"/> positions.</summary>
    internal readonly record struct Item(byte[]? Entry, long GapCount, long QueuedAt)
    {
        public long Size => Entry?.Length ?? 16;
    }
}
