namespace HeliosNano.Realtime;

/// <summary>
/// Which changes a <see cref="ChangeReader"/> receives: a set of <see cref="TableFilter"/> entries, any of which may match.
/// Immutable; build one with <see cref="All"/>, <see cref="For(string, string, ChangeKinds)"/> or
/// <see cref="Create(IEnumerable{TableFilter})"/>.
/// </summary>
/// <remarks>
/// Every entry counts as one subscriber of its table for <see cref="ChangeNotifier.IsWatched(string, string)"/>: a table
/// that no entry of any live reader names (exactly or by wildcard) is not watched, and changes to it are skipped at
/// notify time without building the row. Changes a reader's filter rejects are skipped silently: they are not lag.
/// </remarks>
public sealed class ChangeFilter
{
    private readonly TableFilter[] _entries;

    private ChangeFilter(TableFilter[] entries) => _entries = entries;

    /// <summary>Gets a filter that matches every change of every table (<c>*.*</c>).</summary>
    public static ChangeFilter All { get; } = new([new TableFilter(TableFilter.Wildcard, TableFilter.Wildcard)]);

    /// <summary>Gets a filter that matches nothing and watches no table.</summary>
    public static ChangeFilter None { get; } = new([]);

    /// <summary>Gets the entries of this filter.</summary>
    public IReadOnlyList<TableFilter> Entries => _entries;

    /// <summary>Creates a filter for one table (or <c>*</c>) and a set of kinds.</summary>
    /// <param name="schema">The schema name, or <c>*</c>.</param>
    /// <param name="table">The table name, or <c>*</c>.</param>
    /// <param name="kinds">The kinds of change to match. The default is <see cref="ChangeKinds.All"/>.</param>
    /// <returns>The filter.</returns>
    public static ChangeFilter For(string schema, string table, ChangeKinds kinds = ChangeKinds.All) =>
        new([new TableFilter(schema, table, kinds)]);

    /// <summary>Creates a filter that matches a change when any of <paramref name="entries"/> does.</summary>
    /// <param name="entries">The entries; duplicates are kept (each counts as a subscriber of its table).</param>
    /// <returns>The filter.</returns>
    public static ChangeFilter Create(IEnumerable<TableFilter> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        TableFilter[] array = [.. entries];
        foreach (TableFilter entry in array)
        {
            if (entry.Schema is null || entry.Table is null)
            {
                throw new ArgumentException("A default TableFilter has no schema or table.", nameof(entries));
            }
        }

        return array.Length == 0 ? None : new ChangeFilter(array);
    }

    /// <summary>Returns whether <paramref name="change"/> passes this filter.</summary>
    /// <param name="change">The change.</param>
    /// <returns><see langword="true"/> when any entry matches.</returns>
    public bool Matches(ChangeEvent change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Matches(change.Schema, change.Table, change.Kind);
    }

    /// <summary>Returns whether a change to <paramref name="schema"/>.<paramref name="table"/> of kind <paramref name="kind"/> passes this filter.</summary>
    /// <param name="schema">The schema of the change.</param>
    /// <param name="table">The table of the change.</param>
    /// <param name="kind">The kind of the change.</param>
    /// <returns><see langword="true"/> when any entry matches.</returns>
    public bool Matches(string schema, string table, ChangeKind kind)
    {
        foreach (TableFilter entry in _entries)
        {
            if (entry.Matches(schema, table, kind))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => _entries.Length == 0 ? "(none)" : string.Join(", ", _entries);
}
