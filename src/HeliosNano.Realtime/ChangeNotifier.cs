using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime;

/// <summary>
/// Broadcasts every committed row change of a host's storage engine to any number of in-process readers, through a
/// lock-free ring of fixed capacity in which each reader has its own cursor.
/// </summary>
/// <remarks>
/// <para>
/// <b>Writers.</b> A commit hook calls <c>Notify</c> after the engine commits. Notify is multi-producer safe: the order
/// of changes in the stream is the order in which concurrent Notify calls claim their sequence number. It never takes a
/// lock shared with readers, never waits for a reader, and never fails because of one: the ring overwrites its oldest
/// slot, and a reader that was too slow is told so on its next read. When no subscription covers the table, Notify costs
/// one look-up (two memory reads with a <see cref="ChangeTable"/> handle), allocates nothing and never builds the row.
/// </para>
/// <para>
/// <b>Readers</b> (<see cref="Subscribe(ChangeSubscriptionOptions)"/>) see every change that passes their filter
/// exactly once and in order, or are told exactly how many positions they missed (lag of N) and resume at the oldest
/// change still held — the semantics of tokio's <c>broadcast</c> channel.
/// </para>
/// <para>
/// <b>Memory ordering.</b> A writer (1) builds the immutable <see cref="ChangeEvent"/>, (2) claims sequence <c>s</c> with
/// an interlocked increment of the tail, which totally orders writers, (3) stores <c>s</c> in the event and (4) publishes
/// it into slot <c>s &amp; mask</c> with a compare-exchange, a full fence, so every write to the event happens-before any
/// reader that obtains the reference. A reader does an acquire read of the slot and compares the event's sequence with
/// its cursor: lower (or empty) means the writer of <c>s</c> has not published yet, so the reader waits and never skips
/// ahead; equal means the event is the one it wants; higher means a later lap overwrote it, so the reader moves to the
/// oldest sequence still held (tail − capacity + 1) and counts the gap. A writer pre-empted between claim and publish may
/// find its slot already holding a later lap's event: it then drops its own change (it never overwrites a newer one),
/// and every reader counts that position as lag — lost to everyone, never reordered.
/// </para>
/// <para>
/// <b>Wake-ups.</b> A waiting reader registers in a waiter list (a lock that only readers and the wake-up work item
/// take) and re-checks the ring; a writer, after publishing, reads the waiter count and, if non-zero and no wake-up is
/// pending, queues one work item that completes every registered waiter. Both sides order their write before their read
/// with a full fence (the compare-exchange; the interlocked count update), so either the reader sees the change or the
/// writer sees the waiter. The writer's cost is therefore O(1) whatever the number of readers.
/// </para>
/// </remarks>
[DebuggerDisplay("Capacity = {Capacity}, LastSequence = {LastSequence}, Subscribers = {SubscriberCount}")]
public sealed partial class ChangeNotifier : IDisposable
{
    [ThreadStatic]
    private static RowBuffer? s_threadRowBuffer;

    /// <summary>The ring. Slot <c>s &amp; _mask</c> holds the newest published change whose sequence is congruent to <c>s</c>.</summary>
    private readonly ChangeEvent?[] _slots;
    private readonly long _mask;
    private readonly WatchRegistry _registry = new();
    private readonly ConcurrentDictionary<(string Schema, string Table), ChangeTable> _tables = new();
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RealtimeMetrics _metrics;

    /// <summary>The one wake-up work item, queued at most once at a time (see <see cref="_wakeScheduled"/>), so queuing allocates nothing.</summary>
    private readonly WakeWorkItem _wakeWorkItem;

    /// <summary>
    /// Set in <see cref="_tail"/> by <see cref="Complete"/>: a claim that returns a value with this bit came after
    /// completion and is void (the writer publishes nothing), so the claims before it are exactly the final ones.
    /// </summary>
    private const long CompletedBit = 1L << 62;

    /// <summary>
    /// The last claimed sequence number (0 before the first change); only ever incremented, by writers, plus
    /// <see cref="CompletedBit"/> once completed.
    /// </summary>
    private PaddedLong _tail;

    /// <summary>The last sequence claimed before <see cref="Complete"/> (-1 until then): readers end once past it.</summary>
    private long _finalSequence = -1;

    /// <summary>The bytes the changes in the ring hold (<see cref="ChangeEvent.RetainedBytes"/>), kept exact by whoever replaces a slot's change.</summary>
    private PaddedLong _retainedBytes;

    /// <summary>The oldest sequence the byte budget has not yet considered evicting; advanced by compare-exchange.</summary>
    private PaddedLong _evictNext;

    private readonly long _maxRetainedBytes;
    private long _evictedChanges;

    /// <summary>How many readers are registered as waiting; written under <see cref="_waitersGate"/>, read by writers.</summary>
    private PaddedInt _waiterCount;

    /// <summary>1 while a wake-up work item is queued and has not yet started: writers then need not queue another.</summary>
    private PaddedInt _wakeScheduled;

    private readonly Lock _waitersGate = new();
    private readonly List<ChangeReader.Waiter> _waiters = [];

    /// <summary>Test hook run between claim and publish, to pre-empt writers at the worst moment; always null in production.</summary>
    internal Action<long>? BetweenClaimAndPublishForTests { get; set; }

    private int _readerCount;
    private long _totalMissed;
    private long _lappedWrites;
    private int _completed;

    /// <summary>Initializes a new notifier.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">A logger for lag warnings; <see langword="null"/> for none.</param>
    /// <param name="meterFactory">The factory of the <c>HeliosNano.Realtime</c> meter; <see langword="null"/> to create a private meter.</param>
    /// <param name="timeProvider">The clock for commit timestamps; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not a power of two between 2 and <see cref="ChangeNotifierOptions.MaxCapacity"/>.</exception>
    public ChangeNotifier(ChangeNotifierOptions? options = null, ILogger<ChangeNotifier>? logger = null, IMeterFactory? meterFactory = null, TimeProvider? timeProvider = null)
    {
        options ??= new ChangeNotifierOptions();
        if (ChangeNotifierOptionsValidator.GetError(options) is string error)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Capacity, error);
        }

        _slots = new ChangeEvent?[options.Capacity];
        _mask = options.Capacity - 1;
        _maxRetainedBytes = options.MaxRetainedBytes;
        _evictNext.Value = 1;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = new RealtimeMetrics(meterFactory);
        _wakeWorkItem = new WakeWorkItem(this);
    }

    internal ChangeNotifier(IOptions<ChangeNotifierOptions> options, ILogger<ChangeNotifier>? logger, IMeterFactory? meterFactory, TimeProvider? timeProvider)
        : this(options.Value, logger, meterFactory, timeProvider)
    {
    }

    /// <summary>Gets how many changes the ring retains.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Gets the sequence number of the newest change claimed by a writer (0 before the first change); after <see cref="Complete"/>, the last one claimed before it.</summary>
    public long LastSequence
    {
        get
        {
            long tail = Volatile.Read(ref _tail.Value);
            return (tail & CompletedBit) == 0 ? tail : GetFinalSequence();
        }
    }

    /// <summary>Gets how many bytes the changes held by the ring retain, as counted against <see cref="ChangeNotifierOptions.MaxRetainedBytes"/>.</summary>
    public long RetainedBytes => Interlocked.Read(ref _retainedBytes.Value);

    /// <summary>Gets how many changes the byte budget evicted before the ring's count capacity would have; readers that reach one count it as missed.</summary>
    public long EvictedChanges => Interlocked.Read(ref _evictedChanges);

    /// <summary>Gets the sequence number of the oldest change the ring can still hold (1 until the ring has wrapped).</summary>
    public long OldestRetainedSequence => Math.Max(1, LastSequence - Capacity + 1);

    /// <summary>Gets how many readers are subscribed.</summary>
    public int SubscriberCount => Volatile.Read(ref _readerCount);

    /// <summary>Gets how many changes readers missed because the ring overwrote them first, summed over all readers.</summary>
    public long TotalMissed => Interlocked.Read(ref _totalMissed);

    /// <summary>Gets how many changes were lost to everyone because a later lap overwrote their slot before their writer published them.</summary>
    public long LappedWrites => Interlocked.Read(ref _lappedWrites);

    /// <summary>Gets a value indicating whether <see cref="Complete"/> or <see cref="Dispose"/> was called.</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Returns the handle of a table, creating it on first use. Commit hooks keep it: see <see cref="ChangeTable"/>.</summary>
    /// <param name="schema">The schema name, e.g. <c>public</c>.</param>
    /// <param name="table">The table name.</param>
    /// <returns>The one handle for that schema and table.</returns>
    public ChangeTable GetTable(string schema, string table)
    {
        ArgumentException.ThrowIfNullOrEmpty(schema);
        ArgumentException.ThrowIfNullOrEmpty(table);
        return _tables.TryGetValue((schema, table), out ChangeTable? existing)
            ? existing
            : _tables.GetOrAdd((schema, table), static (key, registry) => new ChangeTable(registry, key.Schema, key.Table), _registry);
    }

    /// <summary>Gets the handles of every table a change was notified for or <see cref="GetTable"/> was called for.</summary>
    public IReadOnlyCollection<ChangeTable> Tables => [.. _tables.Values];

    /// <summary>Returns whether any live subscription covers <paramref name="schema"/>.<paramref name="table"/>: one lock-free look-up, no allocation.</summary>
    /// <param name="schema">The schema name.</param>
    /// <param name="table">The table name.</param>
    /// <returns><see langword="true"/> when a change to that table would be published.</returns>
    public bool IsWatched(string schema, string table) => _registry.Current.IsWatched(schema, table);

    /// <summary>Returns how many live filter entries cover <paramref name="schema"/>.<paramref name="table"/> (exactly, by schema wildcard, or by <c>*</c>).</summary>
    /// <param name="schema">The schema name.</param>
    /// <param name="table">The table name.</param>
    /// <returns>The count; 0 when the table is not watched.</returns>
    public int GetSubscriberCount(string schema, string table) => _registry.Current.CountFor(schema, table);

    /// <summary>
    /// Notifies a committed change whose images the host builds only if somebody watches the table: the row writer is
    /// called for the after image (INSERT, UPDATE) and the before image (UPDATE, DELETE) and must write one JSON object
    /// each (for UPDATE it may write nothing for the before image when the engine does not know it).
    /// </summary>
    /// <typeparam name="TState">The state passed to <paramref name="rowWriter"/>.</typeparam>
    /// <param name="table">The changed table's handle, from <see cref="GetTable"/>.</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="state">The state passed to <paramref name="rowWriter"/>, e.g. the engine's row.</param>
    /// <param name="rowWriter">Writes an image as a JSON object; not called when the table is not watched.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The change's sequence number, or 0 when no subscription covers the table (nothing was built or published).</returns>
    /// <exception cref="ArgumentException">An image the kind requires is missing, one it forbids is present, or an image is not one JSON object.</exception>
    public long Notify<TState>(ChangeTable table, ChangeKind kind, TState state, ChangeRowWriter<TState> rowWriter, DateTimeOffset? commitTimestamp = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(rowWriter);
        CheckOwnTable(table);
        if (!table.IsWatched)
        {
            return Skip();
        }

        CheckKind(kind);
        if (IsCompleted)
        {
            return 0; // never run the host's row writer for a change that will not be published
        }

        RowBuffer buffer = RentRowBuffer();
        try
        {
            int recordLength = kind == ChangeKind.Delete ? 0 : buffer.WriteImage(rowWriter, state, RowImage.New);
            int oldRecordLength = kind == ChangeKind.Insert ? 0 : buffer.WriteImage(rowWriter, state, RowImage.Old);
            CheckImages(kind, recordLength, oldRecordLength);
            byte[] rows = buffer.Buffer.WrittenSpan.ToArray();
            return Publish(new ChangeEvent(table, kind, commitTimestamp ?? _timeProvider.GetUtcNow(), rows, recordLength, oldRecordLength));
        }
        finally
        {
            ReturnRowBuffer(buffer);
        }
    }

    /// <summary>Notifies a committed change whose images are already UTF-8 JSON objects.</summary>
    /// <param name="table">The changed table's handle, from <see cref="GetTable"/>.</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="record">The after image (INSERT, UPDATE), or empty.</param>
    /// <param name="oldRecord">The before image (DELETE, and UPDATE when known), or empty.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The change's sequence number, or 0 when no subscription covers the table.</returns>
    /// <exception cref="ArgumentException">An image the kind requires is missing, one it forbids is present, or an image is not one JSON object.</exception>
    public long Notify(ChangeTable table, ChangeKind kind, ReadOnlySpan<byte> record, ReadOnlySpan<byte> oldRecord, DateTimeOffset? commitTimestamp = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        CheckOwnTable(table);
        if (!table.IsWatched)
        {
            return Skip();
        }

        CheckKind(kind);
        CheckImages(kind, record.Length, oldRecord.Length);
        CheckJsonObject(record, nameof(record));
        CheckJsonObject(oldRecord, nameof(oldRecord));
        byte[] rows = new byte[record.Length + oldRecord.Length];
        record.CopyTo(rows);
        oldRecord.CopyTo(rows.AsSpan(record.Length));
        return Publish(new ChangeEvent(table, kind, commitTimestamp ?? _timeProvider.GetUtcNow(), rows, record.Length, oldRecord.Length));
    }

    /// <summary>Notifies a committed change by table name, building the images only if somebody watches the table.</summary>
    /// <typeparam name="TState">The state passed to <paramref name="rowWriter"/>.</typeparam>
    /// <param name="schema">The schema name.</param>
    /// <param name="table">The table name.</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="state">The state passed to <paramref name="rowWriter"/>.</param>
    /// <param name="rowWriter">Writes an image as a JSON object; not called when the table is not watched.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The change's sequence number, or 0 when no subscription covers the table.</returns>
    public long Notify<TState>(string schema, string table, ChangeKind kind, TState state, ChangeRowWriter<TState> rowWriter, DateTimeOffset? commitTimestamp = null) =>
        SkipUnwatched(schema, table) ? 0 : Notify(GetTable(schema, table), kind, state, rowWriter, commitTimestamp);

    /// <summary>Notifies a committed change by table name, with images that are already UTF-8 JSON objects.</summary>
    /// <param name="schema">The schema name.</param>
    /// <param name="table">The table name.</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="record">The after image (INSERT, UPDATE), or empty.</param>
    /// <param name="oldRecord">The before image (DELETE, and UPDATE when known), or empty.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The change's sequence number, or 0 when no subscription covers the table.</returns>
    public long Notify(string schema, string table, ChangeKind kind, ReadOnlySpan<byte> record, ReadOnlySpan<byte> oldRecord, DateTimeOffset? commitTimestamp = null) =>
        SkipUnwatched(schema, table) ? 0 : Notify(GetTable(schema, table), kind, record, oldRecord, commitTimestamp);

    /// <summary>
    /// Reports a committed change that cannot be published whole (for example a row too large to encode): it takes
    /// the next sequence number like any change, and every reader whose filter covers the table and kind counts it as
    /// one missed change (lag of 1, <see cref="ChangeSubscriptionOptions.OnLagged"/>) instead of receiving it, so no
    /// committed change is ever skipped silently.
    /// </summary>
    /// <param name="table">The changed table's handle, from <see cref="GetTable"/>.</param>
    /// <param name="kind">The kind of the change that was lost.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The marker's sequence number, or 0 when no subscription covers the table (nobody is told, as nobody watches).</returns>
    /// <exception cref="ArgumentException">The handle belongs to another notifier.</exception>
    public long NotifyLost(ChangeTable table, ChangeKind kind, DateTimeOffset? commitTimestamp = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        CheckOwnTable(table);
        if (!table.IsWatched)
        {
            return Skip();
        }

        CheckKind(kind);
        return Publish(ChangeEvent.CreateLost(table, kind, commitTimestamp ?? _timeProvider.GetUtcNow()));
    }

    /// <summary>Reports, by table name, a committed change that cannot be published whole: see <see cref="NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>.</summary>
    /// <param name="schema">The schema name.</param>
    /// <param name="table">The table name.</param>
    /// <param name="kind">The kind of the change that was lost.</param>
    /// <param name="commitTimestamp">The commit time; <see langword="null"/> for now.</param>
    /// <returns>The marker's sequence number, or 0 when no subscription covers the table.</returns>
    public long NotifyLost(string schema, string table, ChangeKind kind, DateTimeOffset? commitTimestamp = null) =>
        SkipUnwatched(schema, table) ? 0 : NotifyLost(GetTable(schema, table), kind, commitTimestamp);

    /// <summary>Subscribes to every change (<see cref="ChangeFilter.All"/>) from the next one notified.</summary>
    /// <returns>The reader; dispose it to leave.</returns>
    public ChangeReader Subscribe() => Subscribe(new ChangeSubscriptionOptions());

    /// <summary>Subscribes to the changes that pass <paramref name="filter"/>, from the next one notified.</summary>
    /// <param name="filter">Which changes to receive.</param>
    /// <returns>The reader; dispose it to leave.</returns>
    public ChangeReader Subscribe(ChangeFilter filter) => Subscribe(new ChangeSubscriptionOptions { Filter = filter });

    /// <summary>Subscribes with the given options. The subscription is live when this method returns.</summary>
    /// <param name="options">The options: filter, replay position, name, lag behaviour.</param>
    /// <returns>The reader; dispose it to leave.</returns>
    /// <exception cref="ObjectDisposedException">The notifier was completed (<see cref="Complete"/>) or disposed.</exception>
    public ChangeReader Subscribe(ChangeSubscriptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Read once: the registry must be given the very filter the reader keeps, or Dispose would remove another one.
        ChangeFilter filter = options.Filter;
        ArgumentNullException.ThrowIfNull(filter, "options.Filter");
        long? startAfter = options.StartAfterSequence;
        ObjectDisposedException.ThrowIf(IsCompleted, this);

        // Register the filter first, then read the tail: a notify that starts after this returns sees the table as
        // watched and claims a sequence above the start position.
        _registry.Update(filter, null);
        long last = LastSequence;
        // With a sequencer, a position another node already delivered may not have reached this ring yet: it is still
        // a valid resume point (KnownSequence), so the reader waits for it rather than being given it again.
        long start = startAfter is long after ? Math.Clamp(after, 0, Math.Max(last, KnownSequence)) + 1 : last + 1;
        var reader = new ChangeReader(this, options, filter, start);
        Interlocked.Increment(ref _readerCount);
        try
        {
            // Instrumentation last, and rolled back if a listener or logger throws: no counted, unreachable reader.
            _metrics.Subscribers.Add(1);
            Log.ReaderSubscribed(_logger, reader.DisplayName, filter, start);
        }
        catch
        {
            reader.Dispose();
            throw;
        }

        return reader;
    }

    /// <summary>
    /// Subscribes and enumerates the changes that pass the options' filter; the subscription is disposed when the
    /// enumeration ends or is cancelled. The subscription starts when enumeration starts (the first <c>MoveNextAsync</c>).
    /// </summary>
    /// <remarks>
    /// Under <see cref="LagBehavior.Throw"/> the <see cref="ChangeLaggedException"/> ends this enumeration and its
    /// subscription, so enumerating again starts a new one. To resume without losing anything more, enumerate again
    /// with <see cref="ChangeSubscriptionOptions.StartAfterSequence"/> set to
    /// <see cref="ChangeLaggedException.ResumeSequence"/> − 1: every change still held from there on is replayed, and
    /// any that was overwritten meanwhile is reported as lag at once. (Or keep one reader:
    /// <see cref="Subscribe(ChangeSubscriptionOptions)"/> and <see cref="ChangeReader.ReadAllAsync"/>, which resumes by itself.)
    /// </remarks>
    /// <param name="options">The subscription options; <see langword="null"/> for every change, live.</param>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The changes, in commit order.</returns>
    public async IAsyncEnumerable<ChangeEvent> ReadAllAsync(ChangeSubscriptionOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using ChangeReader reader = Subscribe(options ?? new ChangeSubscriptionOptions());
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return change;
        }
    }

    /// <summary>
    /// Marks the notifier complete: later notifies publish nothing and return 0, and readers' waits end with
    /// <see langword="false"/> once they have read what is still held.
    /// </summary>
    /// <remarks>
    /// Every notify that returned a sequence number is delivered, or counted as missed, to every reader: the claims
    /// made before completion are fixed at once (<see cref="LastSequence"/>), and a reader does not end while a writer
    /// that claimed one of them is still publishing it; that writer's publish wakes the reader as usual.
    /// </remarks>
    public void Complete()
    {
        // Setting the bit in the tail fixes the final claim atomically with respect to every writer's claim.
        long previous = Interlocked.Or(ref _tail.Value, CompletedBit);
        if ((previous & CompletedBit) != 0)
        {
            return;
        }

        Volatile.Write(ref _finalSequence, previous);
        Volatile.Write(ref _completed, 1);
        WakeAll(all: true);
    }

    /// <summary>Completes the notifier (see <see cref="Complete"/>) and releases its meter if it owns one.</summary>
    public void Dispose()
    {
        Complete();
        _metrics.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"ChangeNotifier(Capacity = {Capacity}, LastSequence = {LastSequence})";

    /// <summary>Returns whether a reader whose cursor is at <paramref name="next"/> has examined every change there will ever be.</summary>
    internal bool IsFinishedAt(long next) => IsCompleted && next > Volatile.Read(ref _finalSequence);

    internal ChangeEvent? ReadSlot(long sequence) => Volatile.Read(ref _slots[sequence & _mask]); // acquire: pairs with the publishing CAS

    internal void UpdateFilter(ChangeFilter? added, ChangeFilter? removed) => _registry.Update(added, removed);

    internal void OnReaderLagged(ChangeReader reader, long missed, long resumeSequence)
    {
        Interlocked.Add(ref _totalMissed, missed);
        _metrics.Lagged.Add(missed);
        Log.ReaderLagged(_logger, reader.DisplayName, missed, resumeSequence);
    }

    internal void OnReaderDisposed(ChangeReader reader)
    {
        Interlocked.Decrement(ref _readerCount);
        _metrics.Subscribers.Add(-1);
        Log.ReaderLeft(_logger, reader.DisplayName, reader.Received, reader.Missed);
    }

    private long Publish(ChangeEvent change)
    {
        if (IsCompleted)
        {
            return 0;
        }

        if (_sequencer is IChangeSequencer sequencer)
        {
            return Submit(sequencer, change);
        }

        // Claim: the interlocked increment totally orders concurrent writers; its result is this change's position.
        long sequence = Interlocked.Increment(ref _tail.Value);
        if ((sequence & CompletedBit) != 0)
        {
            return 0; // claimed after Complete fixed the final sequence: void, nothing is published
        }

        change._sequence = sequence; // plain write: published below by the CAS, a full fence
        BetweenClaimAndPublishForTests?.Invoke(sequence);
        PublishToSlot(change, sequence);
        return sequence;
    }

    /// <summary>Puts a change whose position is already fixed into its slot, wakes waiting readers and accounts for its bytes.</summary>
    private void PublishToSlot(ChangeEvent change, long sequence)
    {
        ref ChangeEvent? slot = ref _slots[sequence & _mask];
        ChangeEvent? seen = Volatile.Read(ref slot);
        bool published = false;
        while (seen is null || seen._sequence < sequence)
        {
            // Publish unless a later lap already owns the slot; a failed CAS means another writer (or the byte budget's
            // eviction) got in: look again.
            ChangeEvent? previous = Interlocked.CompareExchange(ref slot, change, seen);
            if (ReferenceEquals(previous, seen))
            {
                published = true;
                break;
            }

            seen = previous;
        }

        // Read after the CAS (a full fence): either a waiter registered before this sees our change on its re-check,
        // or we see its registration here. Only the first writer to find no wake-up pending queues one. This comes
        // before anything that calls out (metrics listeners, loggers), so a throwing callback cannot lose a wake-up.
        if (Volatile.Read(ref _waiterCount.Value) != 0
            && Volatile.Read(ref _wakeScheduled.Value) == 0
            && Interlocked.Exchange(ref _wakeScheduled.Value, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_wakeWorkItem, preferLocal: false);
        }

        if (published)
        {
            // The winner of a slot's compare-exchange accounts for what it put in and what it took out, so the count is exact.
            long delta = change.RetainedBytes - (seen?.RetainedBytes ?? 0);
            if (delta != 0 && Interlocked.Add(ref _retainedBytes.Value, delta) > _maxRetainedBytes)
            {
                EvictOverBudget(sequence);
            }
        }
        else
        {
            // Overwritten by a later lap before we could publish: lost to everyone, counted as lag by every reader.
            Interlocked.Increment(ref _lappedWrites);
            Log.WriteLapped(_logger, sequence);
        }

        if (_metrics.Published.Enabled)
        {
            _metrics.Published.Add(1);
        }
    }

    /// <summary>
    /// Replaces the oldest held changes, oldest first, by markers (<see cref="ChangeEvent.ToLost"/>) until the ring is
    /// back under its byte budget; never the change just published (<paramref name="newest"/>) or a later one.
    /// </summary>
    /// <remarks>
    /// A position whose writer has not published yet is passed over, so the budget can be exceeded by the changes of
    /// writers still in flight. A reader that reaches a marker counts it as one missed change, exactly as for a lap.
    /// </remarks>
    private void EvictOverBudget(long newest)
    {
        while (Volatile.Read(ref _retainedBytes.Value) > _maxRetainedBytes)
        {
            long candidate = Volatile.Read(ref _evictNext.Value);
            if (candidate >= newest)
            {
                return;
            }

            long oldestHeld = newest - _slots.Length + 1;
            if (candidate < oldestHeld)
            {
                // Laps already replaced those positions (and accounted for them).
                Interlocked.CompareExchange(ref _evictNext.Value, oldestHeld, candidate);
                continue;
            }

            if (Interlocked.CompareExchange(ref _evictNext.Value, candidate + 1, candidate) != candidate)
            {
                continue; // another writer took this position
            }

            ref ChangeEvent? slot = ref _slots[candidate & _mask];
            ChangeEvent? held = Volatile.Read(ref slot);
            if (held is null || held._sequence != candidate || held.IsLost)
            {
                continue; // not published yet, lapped meanwhile, or a marker already
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref slot, held.ToLost(), held), held))
            {
                Interlocked.Add(ref _retainedBytes.Value, -held.RetainedBytes);
                Interlocked.Increment(ref _evictedChanges);
            }
        }
    }

    private long GetFinalSequence()
    {
        // Complete sets the tail's bit, then writes the final sequence: only a reader that runs between the two waits.
        long final;
        SpinWait spin = default;
        while ((final = Volatile.Read(ref _finalSequence)) < 0)
        {
            spin.SpinOnce();
        }

        return final;
    }

    /// <summary>The by-name overloads' unwatched exit, kept small and non-generic so the common miss stays cheap.</summary>
    private bool SkipUnwatched(string schema, string table)
    {
        if (_registry.Current.IsWatched(schema, table))
        {
            return false;
        }

        Skip();
        return true;
    }

    private long Skip()
    {
        if (_metrics.Skipped.Enabled)
        {
            _metrics.Skipped.Add(1);
        }

        return 0;
    }
}
