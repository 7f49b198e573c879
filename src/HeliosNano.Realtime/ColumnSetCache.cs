namespace HeliosNano.Realtime;

/// <summary>
/// The column lists last seen per table and the column sets built from them, reused while the list is the same object,
/// so a stream of changes with one schema builds the JSON form of its columns once. Not thread-safe.
/// </summary>
internal sealed class ColumnSetCache
{
    private readonly Dictionary<ChangeTable, (IReadOnlyList<ChangeColumn> List, ColumnSet Set)> _columns = [];

    /// <summary>Returns the column set of <paramref name="columns"/>, or the table's current one for <see langword="null"/>.</summary>
    public ColumnSet Get(ChangeTable table, IReadOnlyList<ChangeColumn>? columns)
    {
        if (columns is null)
        {
            return table.ColumnSet;
        }

        if (_columns.TryGetValue(table, out var cached) && ReferenceEquals(cached.List, columns))
        {
            return cached.Set;
        }

        var set = new ColumnSet([.. columns]);
        _columns[table] = (columns, set);
        return set;
    }
}
