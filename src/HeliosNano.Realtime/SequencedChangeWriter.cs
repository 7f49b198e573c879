using System.Diagnostics;

namespace HeliosNano.Realtime;

/// <summary>
/// The only writer of a <see cref="ChangeNotifier"/>'s ring once a sequencer is attached
/// (<see cref="ChangeNotifier.UseSequencer"/>): it publishes changes, and ranges of lost positions, at the sequence
/// numbers a shared log gave them, so every node's ring holds the same change at the same position.
/// </summary>
/// <remarks>
/// Not thread-safe: one thread (a backplane's tail loop) publishes, strictly in order, every position exactly once:
/// <see cref="Publish"/> for a change, <see cref="PublishLost"/> for positions whose changes this node cannot have
/// (dropped before they were sequenced, trimmed from the log, or skipped by an epoch change). Readers count each lost
/// position as one missed change whatever their filter, so for a reader with any filter, received plus missed covers
/// every position it passed.
/// </remarks>
[DebuggerDisplay("LastSequence = {LastSequence}")]
public sealed class SequencedChangeWriter
{
    private readonly ChangeNotifier _notifier;

    /// <summary>The column sets of the column lists last seen per table.</summary>
    private readonly ColumnSetCache _columns = new();

    internal SequencedChangeWriter(ChangeNotifier notifier) => _notifier = notifier;

    /// <summary>Gets the notifier whose ring this writer fills.</summary>
    public ChangeNotifier Notifier => _notifier;

    /// <summary>Gets the last position published (0 before the first).</summary>
    public long LastSequence => _notifier.LastSequence;

    /// <summary>
    /// Publishes a change at <paramref name="sequence"/>, which must be <see cref="LastSequence"/> + 1.
    /// </summary>
    /// <param name="sequence">The change's position in the shared log.</param>
    /// <param name="table">The table's handle on this notifier (<see cref="ChangeNotifier.GetTable"/>).</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="record">The after image, a UTF-8 JSON object, or empty.</param>
    /// <param name="oldRecord">The before image, a UTF-8 JSON object, or empty.</param>
    /// <param name="commitTimestamp">The commit time at the origin.</param>
    /// <param name="columns">
    /// The columns the change was captured with, or <see langword="null"/> for the table's current ones. Pass the same
    /// list object again for the same columns: the JSON form is then built once, not per change.
    /// </param>
    /// <returns><see langword="false"/> when the notifier completed (nothing more is published).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is not the next position.</exception>
    /// <exception cref="ArgumentException">The images do not fit the kind, or the handle belongs to another notifier.</exception>
    public bool Publish(long sequence, ChangeTable table, ChangeKind kind, ReadOnlySpan<byte> record, ReadOnlySpan<byte> oldRecord, DateTimeOffset commitTimestamp, IReadOnlyList<ChangeColumn>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        CheckNext(sequence);
        _notifier.CheckSequencedChange(table, kind, record.Length, oldRecord.Length);
        byte[] rows = new byte[record.Length + oldRecord.Length];
        record.CopyTo(rows);
        oldRecord.CopyTo(rows.AsSpan(record.Length));
        var change = new ChangeEvent(table, _columns.Get(table, columns), kind, commitTimestamp, rows, record.Length, oldRecord.Length);
        return _notifier.PublishSequenced(change, sequence);
    }

    /// <summary>
    /// Publishes positions <paramref name="firstSequence"/>..<paramref name="lastSequence"/> as lost: every reader that
    /// passes them counts them as missed (the lag of N), at the same point of the stream on every node.
    /// </summary>
    /// <param name="firstSequence">The first lost position; must be <see cref="LastSequence"/> + 1.</param>
    /// <param name="lastSequence">The last lost position, at least <paramref name="firstSequence"/>.</param>
    /// <returns><see langword="false"/> when the notifier completed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range does not start at the next position, or is empty.</exception>
    public bool PublishLost(long firstSequence, long lastSequence)
    {
        CheckNext(firstSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(lastSequence, firstSequence);
        return _notifier.PublishGap(firstSequence, lastSequence);
    }

    /// <summary>
    /// Publishes positions <paramref name="firstSequence"/>..<paramref name="lastSequence"/> as void: positions that never
    /// held a change (the log's sequence jumped, e.g. at a new epoch). Readers pass them without counting them as missed.
    /// </summary>
    /// <param name="firstSequence">The first void position; must be <see cref="LastSequence"/> + 1.</param>
    /// <param name="lastSequence">The last void position, at least <paramref name="firstSequence"/>.</param>
    /// <returns><see langword="false"/> when the notifier completed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range does not start at the next position, or is empty.</exception>
    public bool PublishVoid(long firstSequence, long lastSequence)
    {
        CheckNext(firstSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(lastSequence, firstSequence);
        return _notifier.PublishVoid(firstSequence, lastSequence);
    }

    /// <summary>
    /// Tells the notifier that the shared log holds positions up to <paramref name="sequence"/> even if this ring has
    /// not published them yet, so that a client resuming after a position another node already delivered waits for
    /// the next one instead of being given changes again (<see cref="ChangeNotifier.KnownSequence"/>).
    /// </summary>
    /// <param name="sequence">A position the log is known to hold.</param>
    public void ReportKnownSequence(long sequence) => _notifier.ReportKnownSequence(sequence);

    private void CheckNext(long sequence)
    {
        long expected = _notifier.LastSequence + 1;
        if (sequence != expected && !_notifier.IsCompleted)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"The next position is {expected}: every position is published once, in order.");
        }
    }
}
