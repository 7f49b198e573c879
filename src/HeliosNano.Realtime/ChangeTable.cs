using System.Diagnostics;

namespace HeliosNano.Realtime;

/// <summary>
/// A handle on one table of the host's engine, obtained once from <see cref="ChangeNotifier.GetTable(string, string)"/>
/// and kept by the commit hook: it carries the table's column metadata and answers <see cref="IsWatched"/> with two
/// memory reads while no subscription changes.
/// </summary>
/// <remarks>Thread-safe. Handles live as long as the notifier; there is one per schema and table name.</remarks>
[DebuggerDisplay("{Schema,nq}.{Name,nq} (watched = {IsWatched})")]
public sealed class ChangeTable
{
    private readonly WatchRegistry _registry;

    /// <summary>The current column set; replaced, never mutated, so a captured change keeps the columns it was built with.</summary>
    private ColumnSet _columns = ColumnSet.Empty;

    /// <summary>
    /// The answer of <see cref="IsWatched"/> cached for one registry version: <c>version * 2 + (watched ? 1 : 0)</c>,
    /// packed in one word so that a reader never pairs a version with another version's answer.
    /// </summary>
    private long _cachedWatch = -1;

    internal ChangeTable(WatchRegistry registry, string schema, string name)
    {
        _registry = registry;
        Schema = schema;
        Name = name;
    }

    /// <summary>Gets the schema name.</summary>
    public string Schema { get; }

    /// <summary>Gets the table name.</summary>
    public string Name { get; }

    /// <summary>Gets the columns that changes captured from now on carry.</summary>
    public IReadOnlyList<ChangeColumn> Columns => Volatile.Read(ref _columns).Columns;

    /// <summary>Gets a value indicating whether any live subscription covers this table right now.</summary>
    /// <remarks>
    /// The cached answer is valid as long as the registry's version has not moved: a subscribe or leave publishes a new
    /// version, and the next call recomputes. A subscription that completes before a notify starts is always seen.
    /// </remarks>
    public bool IsWatched
    {
        get
        {
            WatchRegistry.Snapshot snapshot = _registry.Current;
            long cached = Volatile.Read(ref _cachedWatch); // atomic on 64-bit; the pair (version, answer) is one word
            if ((cached >> 1) == snapshot.Version)
            {
                return (cached & 1) != 0;
            }

            bool watched = snapshot.IsWatched(Schema, Name);
            // A racing thread may store an answer for another version; both are correct for their version.
            Volatile.Write(ref _cachedWatch, (snapshot.Version << 1) | (watched ? 1L : 0L));
            return watched;
        }
    }

    /// <summary>Gets how many live filter entries cover this table (exactly, by schema wildcard, or by <c>*</c>).</summary>
    public int SubscriberCount => _registry.Current.CountFor(Schema, Name);

    internal ColumnSet ColumnSet => Volatile.Read(ref _columns);

    /// <summary>Returns whether this handle was made by the notifier that owns <paramref name="registry"/>.</summary>
    internal bool BelongsTo(WatchRegistry registry) => ReferenceEquals(_registry, registry);

    /// <summary>Replaces the column metadata that changes captured from now on carry (after a schema change, say).</summary>
    /// <param name="columns">The columns, in table order.</param>
    public void SetColumns(IEnumerable<ChangeColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ChangeColumn[] array = [.. columns];
        foreach (ChangeColumn column in array)
        {
            ArgumentException.ThrowIfNullOrEmpty(column.Name, nameof(columns));
            ArgumentException.ThrowIfNullOrEmpty(column.TypeName, nameof(columns));
        }

        // Release write: a change built after this sees the whole new set, one built before keeps the old one.
        Volatile.Write(ref _columns, new ColumnSet(array));
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Schema}.{Name}";
}
