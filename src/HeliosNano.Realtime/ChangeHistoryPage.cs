using System.Diagnostics;

namespace HeliosNano.Realtime;

/// <summary>
/// What one read of an <see cref="IChangeHistory"/> returned: every position from <see cref="FirstSequence"/> to
/// <see cref="LastSequence"/>, in order, each a change, part of a lost range, or void (no entry).
/// </summary>
/// <remarks>
/// Filled by the history source (one thread), then read by the caller; not thread-safe. The changes are built as the
/// ring builds them (<see cref="SequencedChangeWriter.Publish"/>), so they are delivered the same way.
/// </remarks>
[DebuggerDisplay("{FirstSequence}..{LastSequence}, entries = {Entries.Count}")]
public sealed class ChangeHistoryPage
{
    private readonly List<ChangeHistoryEntry> _entries = [];
    private readonly ColumnSetCache _columns = new();

    /// <summary>Initializes an empty page that starts at <paramref name="firstSequence"/>.</summary>
    /// <param name="notifier">The notifier whose positions and table handles the page uses.</param>
    /// <param name="firstSequence">The first position wanted, at least 1.</param>
    public ChangeHistoryPage(ChangeNotifier notifier, long firstSequence)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        ArgumentOutOfRangeException.ThrowIfLessThan(firstSequence, 1);
        Notifier = notifier;
        FirstSequence = firstSequence;
        LastSequence = firstSequence - 1;
    }

    /// <summary>Gets the notifier whose table handles the changes use (<see cref="ChangeNotifier.GetTable"/>).</summary>
    public ChangeNotifier Notifier { get; }

    /// <summary>Gets the first position of the page.</summary>
    public long FirstSequence { get; }

    /// <summary>Gets the last position the page accounts for; <see cref="FirstSequence"/> − 1 while it is empty.</summary>
    public long LastSequence { get; private set; }

    /// <summary>Gets the changes and lost ranges, in order (void positions have no entry).</summary>
    public IReadOnlyList<ChangeHistoryEntry> Entries => _entries;

    /// <summary>Adds the change at <paramref name="sequence"/>, which must be <see cref="LastSequence"/> + 1.</summary>
    /// <param name="sequence">The change's position.</param>
    /// <param name="table">The table's handle on <see cref="Notifier"/>.</param>
    /// <param name="kind">The kind of change.</param>
    /// <param name="record">The after image, a UTF-8 JSON object, or empty.</param>
    /// <param name="oldRecord">The before image, a UTF-8 JSON object, or empty.</param>
    /// <param name="commitTimestamp">The commit time at the origin.</param>
    /// <param name="columns">The columns the change was captured with, or <see langword="null"/> for the table's current ones; pass the same list object for the same columns.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is not the next position.</exception>
    /// <exception cref="ArgumentException">The images do not fit the kind, or the handle belongs to another notifier.</exception>
    public void AddChange(long sequence, ChangeTable table, ChangeKind kind, ReadOnlySpan<byte> record, ReadOnlySpan<byte> oldRecord, DateTimeOffset commitTimestamp, IReadOnlyList<ChangeColumn>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        CheckNext(sequence);
        Notifier.CheckSequencedChange(table, kind, record.Length, oldRecord.Length);
        byte[] rows = new byte[record.Length + oldRecord.Length];
        record.CopyTo(rows);
        oldRecord.CopyTo(rows.AsSpan(record.Length));
        var change = new ChangeEvent(table, _columns.Get(table, columns), kind, commitTimestamp, rows, record.Length, oldRecord.Length)
        {
            _sequence = sequence,
        };
        _entries.Add(new ChangeHistoryEntry(sequence, sequence, change));
        LastSequence = sequence;
    }

    /// <summary>
    /// Adds positions <paramref name="firstSequence"/>..<paramref name="lastSequence"/> as lost: the reader is told
    /// "lag of N" for them, as a ring reader is for a gap. A lost range right after another one joins it.
    /// </summary>
    /// <param name="firstSequence">The first lost position; must be <see cref="LastSequence"/> + 1.</param>
    /// <param name="lastSequence">The last lost position, at least <paramref name="firstSequence"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range does not start at the next position, or is empty.</exception>
    public void AddLost(long firstSequence, long lastSequence)
    {
        CheckNext(firstSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(lastSequence, firstSequence);
        if (_entries.Count > 0 && _entries[^1] is { IsLost: true } previous && previous.LastSequence == firstSequence - 1)
        {
            _entries[^1] = previous with { LastSequence = lastSequence };
        }
        else
        {
            _entries.Add(new ChangeHistoryEntry(firstSequence, lastSequence, null));
        }

        LastSequence = lastSequence;
    }

    /// <summary>Adds positions that never held a change (a sequence jump): they are passed without being counted as missed.</summary>
    /// <param name="firstSequence">The first void position; must be <see cref="LastSequence"/> + 1.</param>
    /// <param name="lastSequence">The last void position, at least <paramref name="firstSequence"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range does not start at the next position, or is empty.</exception>
    public void AddVoid(long firstSequence, long lastSequence)
    {
        CheckNext(firstSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(lastSequence, firstSequence);
        LastSequence = lastSequence;
    }

    private void CheckNext(long sequence)
    {
        if (sequence != LastSequence + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"The next position is {LastSequence + 1}: every position is added once, in order.");
        }
    }
}
