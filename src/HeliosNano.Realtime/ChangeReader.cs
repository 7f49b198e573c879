using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace HeliosNano.Realtime;

/// <summary>
/// One subscriber's cursor over a <see cref="ChangeNotifier"/>'s ring: reads the changes that pass its filter in commit
/// order, and reports exactly how many it missed when writers lapped it.
/// </summary>
/// <remarks>
/// <para>
/// The reading members (<see cref="TryRead(out ChangeEvent)"/>, <see cref="WaitToReadAsync"/>, <see cref="ReadAsync"/>,
/// <see cref="ReadAllAsync"/>) are for one consumer at a time, like a single-reader channel; <see cref="SetFilter"/>,
/// <see cref="Dispose"/> and the properties may be used from any thread.
/// </para>
/// <para>
/// <b>Lag.</b> When the reader finds that writers overwrote the change at its cursor, it moves to the oldest change
/// still held and adds the number of positions it skipped to <see cref="Missed"/> (and reports it through
/// <see cref="TryRead(out ChangeEvent, out long)"/> and <see cref="ChangeSubscriptionOptions.OnLagged"/>). Those positions
/// may include changes the filter would have skipped; for a reader with <see cref="ChangeFilter.All"/>,
/// received + missed is exactly the number of changes notified since it subscribed.
/// </para>
/// </remarks>
[DebuggerDisplay("{DisplayName,nq}: next = {NextSequence}, lag = {Lag}, missed = {Missed}")]
public sealed partial class ChangeReader : IDisposable
{
    private readonly ChangeNotifier _notifier;
    private readonly Waiter _waiter;
    private readonly Lock _gate = new();
    private readonly LagBehavior _lagBehavior;
    private readonly Action<ChangeReader, long>? _onLagged;
    private ChangeFilter _filter;

    /// <summary>The next sequence to examine; only the consumer writes it.</summary>
    private long _next;

    /// <summary>A change already taken from the ring but not yet returned (held back by a lag exception).</summary>
    private ChangeEvent? _pending;

    private long _missed;

    /// <summary>Positions skipped by a lap since the last change returned; reported with the next one.</summary>
    private long _unreportedMissed;

    /// <summary>Where the reader resumed after the last change it missed: the first position it still examines.</summary>
    private long _resumeAfterMiss;
    private long _received;
    private int _disposed;

    internal ChangeReader(ChangeNotifier notifier, ChangeSubscriptionOptions options, ChangeFilter filter, long start)
    {
        _notifier = notifier;
        _filter = filter;
        _next = start;
        _lagBehavior = options.LagBehavior;
        _onLagged = options.OnLagged;
        _wakeFilter = options.WakeFilter;
        Name = options.Name;
        _waiter = new Waiter(this);
    }

    /// <summary>Gets the name given in <see cref="ChangeSubscriptionOptions.Name"/>, if any.</summary>
    public string? Name { get; }

    /// <summary>Gets the filter in force.</summary>
    public ChangeFilter Filter => Volatile.Read(ref _filter);

    /// <summary>Gets the sequence number of the next change this reader will examine.</summary>
    public long NextSequence => Volatile.Read(ref _next);

    /// <summary>Gets how many changes were notified but not yet examined by this reader (including ones its filter will skip).</summary>
    public long Lag => Math.Max(0, _notifier.LastSequence - NextSequence + 1);

    /// <summary>Gets how many changes this reader missed in total because writers overwrote them before it read them.</summary>
    public long Missed => Interlocked.Read(ref _missed);

    /// <summary>Gets how many changes this reader returned.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Gets a value indicating whether the reader was disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal string DisplayName => Name ?? "(unnamed)";

    /// <summary>
    /// Replaces the filter. Subscriber counts move atomically from the old entries to the new ones; changes already
    /// notified but not yet read are judged by the new filter.
    /// </summary>
    /// <param name="filter">The new filter.</param>
    /// <exception cref="ObjectDisposedException">The reader was disposed.</exception>
    public void SetFilter(ChangeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            ChangeFilter old = _filter;
            _notifier.UpdateFilter(filter, old);
            Volatile.Write(ref _filter, filter);
        }
    }

    /// <summary>Reads the next change that passes the filter, if one is published.</summary>
    /// <param name="change">The change, when the method returns <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when a change was read.</returns>
    public bool TryRead([NotNullWhen(true)] out ChangeEvent? change) => TryRead(out change, out _);

    /// <summary>
    /// Reads the next change that passes the filter, if one is published, and reports how many changes were
    /// overwritten since the previous change this reader returned (the lag of N as a value: 0 when nothing was missed).
    /// </summary>
    /// <remarks>
    /// A lap discovered by a call that then finds nothing to return is not lost: it is reported by the next call that
    /// returns a change, so the <paramref name="missed"/> values of the returned changes always add up to <see cref="Missed"/>.
    /// <see cref="ChangeSubscriptionOptions.OnLagged"/> is called at once, when the lap is discovered; it may read from
    /// this reader (the outer read then continues from wherever the callback left the cursor).
    /// A change the host reported lost (<see cref="ChangeNotifier.NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>)
    /// or the ring's byte budget evicted counts as one missed change, if the filter covers it.
    /// </remarks>
    /// <param name="change">The change, when the method returns <see langword="true"/>.</param>
    /// <param name="missed">How many changes were overwritten, since the previous change returned, before this reader saw them.</param>
    /// <returns><see langword="true"/> when a change was read.</returns>
    public bool TryRead([NotNullWhen(true)] out ChangeEvent? change, out long missed)
    {
        missed = 0;
        if (_pending is ChangeEvent pending)
        {
            _pending = null;
            change = pending;
            return true;
        }

        if (IsDisposed)
        {
            change = null;
            return false;
        }

        ChangeFilter filter = Volatile.Read(ref _filter);
        long next = _next;
        while (true)
        {
            ChangeEvent? slot = _notifier.ReadSlot(next);
            if (slot is null || slot._sequence < next)
            {
                // The writer of `next` has not published yet (or nobody claimed it): never skip ahead. A lap found on
                // the way stays in _unreportedMissed and is reported with the next change returned.
                Volatile.Write(ref _next, next);
                change = null;
                return false;
            }

            long skipped;
            if (slot._sequence > next)
            {
                // Lapped: a later change owns the slot. Resume at the oldest position that can still be held. The tail is
                // at least slot._sequence >= next + capacity, so the resume point is always past `next`.
                long resume = _notifier.LastSequence - _notifier.Capacity + 1;
                // Positions a sequence jump declared void never held a change: passing them is not a loss.
                skipped = resume - next - _notifier.CountVoid(next, resume - 1);
                Debug.Assert(skipped >= 0);
                next = resume;
                if (skipped == 0)
                {
                    continue;
                }
            }
            else
            {
                next++;
                if ((!filter.Matches(slot.Schema, slot.Table, slot.Kind) && !slot.IsGap) || slot.IsVoid)
                {
                    continue;
                }

                if (!slot.IsLost)
                {
                    Volatile.Write(ref _next, next);
                    // Only the consumer writes it: a plain increment published with a volatile write, no locked instruction.
                    Volatile.Write(ref _received, _received + 1);
                    missed = _unreportedMissed;
                    _unreportedMissed = 0;
                    change = slot;
                    return true;
                }

                skipped = 1; // a change reported lost or evicted by the byte budget: missed, as a lap would be
                if (slot.IsGap)
                {
                    // A lost range is published as consecutive gap markers: count it whole, in one report.
                    ChangeEvent? following;
                    while ((following = _notifier.ReadSlot(next)) is not null && following._sequence == next && following.IsGap)
                    {
                        next++;
                        skipped++;
                    }
                }
            }

            _unreportedMissed += skipped;
            _resumeAfterMiss = next;
            Interlocked.Add(ref _missed, skipped);
            Volatile.Write(ref _next, next);
            _notifier.OnReaderLagged(this, skipped, next);
            if (_onLagged is not null)
            {
                _onLagged(this, skipped);
                // The callback runs on the consumer's thread and may itself read: continue from where it left things.
                if (_pending is not null || IsDisposed)
                {
                    change = null;
                    return TryRead(out change, out missed);
                }

                next = Volatile.Read(ref _next);
                filter = Volatile.Read(ref _filter);
            }
        }
    }

    /// <summary>Waits until a change may be available to <see cref="TryRead(out ChangeEvent)"/>.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>
    /// <see langword="true"/> when a change may be available (a filtered one may turn out to be skipped: call
    /// <c>TryRead</c> in a loop); <see langword="false"/> when the reader was disposed or the notifier completed and
    /// everything held was read. Completes synchronously, without allocating, when a change is already there.
    /// </returns>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        if (_pending is not null)
        {
            return new ValueTask<bool>(true);
        }

        if (IsDisposed)
        {
            return new ValueTask<bool>(false); // TryRead returns nothing once disposed, so "true" would spin a consumer
        }

        if (HasAvailable())
        {
            return new ValueTask<bool>(true);
        }

        if (_notifier.IsFinishedAt(Volatile.Read(ref _next)))
        {
            return new ValueTask<bool>(false);
        }

        // Register first, then re-check: a writer that published before our registration is seen by the re-check,
        // one that publishes after it sees the registration (see ChangeNotifier's remarks on wake-ups). After Complete
        // a reader still waits here while a writer that claimed before completion has yet to publish; that publish
        // wakes it like any other.
        ValueTask<bool> wait = _waiter.Arm(cancellationToken);
        if (IsDisposed)
        {
            _waiter.TrySignal(false);
        }
        else if (HasAvailable() || _notifier.IsFinishedAt(Volatile.Read(ref _next)))
        {
            _waiter.TrySignal(true); // the consumer's next call answers "finished" without waiting
        }

        return wait;
    }

    /// <summary>Reads the next change that passes the filter, waiting for one if needed.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The change.</returns>
    /// <exception cref="InvalidOperationException">The reader was disposed or the notifier completed, and nothing is left to read.</exception>
    public async ValueTask<ChangeEvent> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryRead(out ChangeEvent? change))
            {
                return change;
            }

            if (!await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("The reader was disposed or the notifier completed; no more changes will arrive.");
            }
        }
    }

    /// <summary>
    /// Enumerates the changes that pass the filter, in commit order, until the reader is disposed, the notifier
    /// completes, or <paramref name="cancellationToken"/> is cancelled. Lag is surfaced as
    /// <see cref="ChangeSubscriptionOptions.LagBehavior"/> says.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The changes.</returns>
    /// <exception cref="ChangeLaggedException">Under <see cref="LagBehavior.Throw"/>, when changes were missed; enumerate this reader again to resume.</exception>
    public async IAsyncEnumerable<ChangeEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out ChangeEvent? change, out long missed))
            {
                if (missed > 0 && _lagBehavior == LagBehavior.Throw)
                {
                    // Keep the change: the next read returns it, so resuming loses nothing more.
                    _pending = change;
                    throw new ChangeLaggedException(missed, _resumeAfterMiss);
                }

                yield return change;
            }
        }
    }

    /// <summary>Leaves: the subscriber counts drop, and a pending wait ends with <see langword="false"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            _notifier.UpdateFilter(null, _filter);
        }

        _waiter.TrySignal(false);
        _notifier.OnReaderDisposed(this);
    }

    /// <inheritdoc/>
    public override string ToString() => $"ChangeReader({DisplayName}, next = {NextSequence})";

    /// <summary>Returns whether the slot at the cursor holds a change at or past it (readable, or a lap to report).</summary>
    private bool HasAvailable()
    {
        ChangeEvent? slot = _notifier.ReadSlot(Volatile.Read(ref _next));
        return slot is not null && slot._sequence >= Volatile.Read(ref _next);
    }
}
