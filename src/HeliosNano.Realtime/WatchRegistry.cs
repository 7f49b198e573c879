namespace HeliosNano.Realtime;

/// <summary>
/// Counts, per table, the filter entries of live readers, and answers "does anybody watch this table?" for the
/// notify path without a lock and without allocating.
/// </summary>
/// <remarks>
/// Mutations (subscribe, leave, filter change) are rare and take <see cref="_gate"/>; each builds a new immutable
/// <see cref="Snapshot"/> and publishes it with a release write. The notify path only does an acquire read of
/// <see cref="_current"/> and dictionary look-ups on an object nobody mutates any more, so writers never wait for
/// subscribers and never see a half-built table. A table whose count reaches zero disappears from the snapshot
/// ("drops out of the broadcast filter"), so a hostile client subscribing to many names leaves nothing behind.
/// </remarks>
internal sealed class WatchRegistry
{
    private readonly Lock _gate = new();

    // Master counts, touched only under _gate.
    private readonly Dictionary<(string Schema, string Table), int> _exact = [];
    private readonly Dictionary<string, int> _schemaWildcards = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _anySchemaTables = new(StringComparer.Ordinal);
    private int _all;
    private long _version;

    /// <summary>The snapshot the notify path reads; replaced (never mutated) under <see cref="_gate"/>.</summary>
    private Snapshot _current = Snapshot.Empty;

    /// <summary>Gets the current snapshot (acquire read: everything the snapshot references is fully built).</summary>
    public Snapshot Current => Volatile.Read(ref _current);

    /// <summary>Adds one count per entry of <paramref name="added"/> and removes one per entry of <paramref name="removed"/>, atomically.</summary>
    public void Update(ChangeFilter? added, ChangeFilter? removed)
    {
        lock (_gate)
        {
            if (added is not null)
            {
                foreach (TableFilter entry in added.Entries)
                {
                    Adjust(entry, +1);
                }
            }

            if (removed is not null)
            {
                foreach (TableFilter entry in removed.Entries)
                {
                    Adjust(entry, -1);
                }
            }

            // Release write: a notify that reads the new reference sees the fully built dictionaries.
            Volatile.Write(ref _current, Build());
        }
    }

    private void Adjust(TableFilter entry, int delta)
    {
        if (entry.IsAnySchema && entry.IsAnyTable)
        {
            _all += delta;
        }
        else if (entry.IsAnySchema)
        {
            AdjustCount(_anySchemaTables, entry.Table, delta); // "*.orders": the table in every schema
        }
        else if (entry.IsAnyTable)
        {
            AdjustCount(_schemaWildcards, entry.Schema, delta);
        }
        else
        {
            AdjustCount(_exact, (entry.Schema, entry.Table), delta);
        }
    }

    private static void AdjustCount<TKey>(Dictionary<TKey, int> counts, TKey key, int delta)
        where TKey : notnull
    {
        int count = counts.GetValueOrDefault(key) + delta;
        if (count > 0)
        {
            counts[key] = count;
        }
        else
        {
            counts.Remove(key);
        }
    }

    private Snapshot Build()
    {
        // Keyed by table name first: one ordinal string look-up, then a short scan of the schemas that have that
        // table name (almost always one), is about the cost of a plain Dictionary<string, T>.TryGetValue.
        var byTable = new Dictionary<string, SchemaCount[]>(_exact.Count, StringComparer.Ordinal);
        foreach (((string schema, string table), int count) in _exact)
        {
            byTable[table] = byTable.TryGetValue(table, out SchemaCount[]? existing)
                ? [.. existing, new SchemaCount(schema, count)]
                : [new SchemaCount(schema, count)];
        }

        int total = _all + _exact.Count + _schemaWildcards.Count + _anySchemaTables.Count;
        return new Snapshot(++_version, total, _all, Copy(_schemaWildcards), Copy(_anySchemaTables), byTable);
    }

    private static Dictionary<string, int>? Copy(Dictionary<string, int> counts) =>
        counts.Count == 0 ? null : new Dictionary<string, int>(counts, StringComparer.Ordinal);

    /// <summary>A schema name and how many filter entries name it for one table.</summary>
    internal readonly record struct SchemaCount(string Schema, int Count);

    /// <summary>An immutable view of the counts at one moment.</summary>
    internal sealed class Snapshot
    {
        public static readonly Snapshot Empty = new(0, 0, 0, null, null, new Dictionary<string, SchemaCount[]>(StringComparer.Ordinal));

        private readonly int _all;
        private readonly Dictionary<string, int>? _schemaWildcards;
        private readonly Dictionary<string, int>? _anySchemaTables;
        private readonly Dictionary<string, SchemaCount[]> _byTable;

        public Snapshot(long version, int total, int all, Dictionary<string, int>? schemaWildcards, Dictionary<string, int>? anySchemaTables, Dictionary<string, SchemaCount[]> byTable)
        {
            Version = version;
            Total = total;
            _all = all;
            _schemaWildcards = schemaWildcards;
            _anySchemaTables = anySchemaTables;
            _byTable = byTable;
        }

        /// <summary>Gets the version: it changes on every mutation, so a cached answer for an older version is stale.</summary>
        public long Version { get; }

        /// <summary>Gets a non-zero value when anything at all is watched.</summary>
        public int Total { get; }

        /// <summary>Returns whether any live filter entry covers <paramref name="schema"/>.<paramref name="table"/>.</summary>
        public bool IsWatched(string schema, string table)
        {
            if (Total == 0)
            {
                return false;
            }

            if (_all != 0
                || (_schemaWildcards is not null && _schemaWildcards.ContainsKey(schema))
                || (_anySchemaTables is not null && _anySchemaTables.ContainsKey(table)))
            {
                return true;
            }

            if (_byTable.TryGetValue(table, out SchemaCount[]? schemas))
            {
                foreach (SchemaCount entry in schemas)
                {
                    if (string.Equals(entry.Schema, schema, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        /// <summary>Returns how many live filter entries cover <paramref name="schema"/>.<paramref name="table"/> (exact, schema wildcard and <c>*</c>).</summary>
        public int CountFor(string schema, string table)
        {
            int count = _all;
            if (_schemaWildcards is not null && _schemaWildcards.TryGetValue(schema, out int wildcard))
            {
                count += wildcard;
            }

            if (_anySchemaTables is not null && _anySchemaTables.TryGetValue(table, out int anySchema))
            {
                count += anySchema;
            }

            if (_byTable.TryGetValue(table, out SchemaCount[]? schemas))
            {
                foreach (SchemaCount entry in schemas)
                {
                    if (string.Equals(entry.Schema, schema, StringComparison.Ordinal))
                    {
                        count += entry.Count;
                    }
                }
            }

            return count;
        }
    }
}
