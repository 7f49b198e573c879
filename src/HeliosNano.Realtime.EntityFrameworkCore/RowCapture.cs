using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>Turns the change tracker's entries into rows of watched tables, with before images (before the save) and after images (after it).</summary>
internal static class RowCapture
{
    /// <summary>One pass over the tracked entries: the rows of watched tables this save writes, in tracker order.</summary>
    public static List<PendingRow> Capture(DbContext context, CaptureModel model)
    {
        ChangeTracker tracker = context.ChangeTracker;
        if (tracker.CascadeDeleteTiming == CascadeTiming.OnSaveChanges || tracker.DeleteOrphansTiming == CascadeTiming.OnSaveChanges)
        {
            tracker.CascadeChanges(); // EF would cascade later, inside the save: do it now so those deletes are seen
        }

        var rows = new List<PendingRow>();
        Dictionary<RowKey, PendingRow>? shared = null;
        foreach (EntityEntry entry in tracker.Entries()) // one DetectChanges, as EF's own Entries() does
        {
            EntityState state = entry.State;
            if (state == EntityState.Detached)
            {
                continue;
            }

            foreach (EntityTableMap map in model.For(entry.Metadata))
            {
                TableMap table = map.Table;
                if (!table.Handle.IsWatched)
                {
                    continue;
                }

                // TPT/entity splitting: EF writes no UPDATE to a table none of whose columns changed
                EntityState effective = state == EntityState.Modified && !AnyModified(entry, map) ? EntityState.Unchanged : state;
                if (effective == EntityState.Unchanged && !table.IsShared)
                {
                    continue;
                }

                PendingRow row;
                if (table.IsShared)
                {
                    shared ??= [];
                    var key = new RowKey(table, KeyValues(entry, map));
                    if (!shared.TryGetValue(key, out row!))
                    {
                        row = new PendingRow(table, ChangeKind.Update) { SqliteStorage = model.SqliteStorage };
                        shared.Add(key, row);
                        rows.Add(row);
                    }
                }
                else
                {
                    row = new PendingRow(table, ChangeKind.Update) { SqliteStorage = model.SqliteStorage };
                    rows.Add(row);
                }

                row.Sources.Add(new RowSource(entry, map, effective));
                row.Root ??= map.RootType;
            }
        }

        rows.RemoveAll(row => !Decide(row));
        foreach (PendingRow row in rows)
        {
            if (row.Kind != ChangeKind.Insert)
            {
                row.Before = BeforeImage(row);
            }
        }

        return rows;
    }

    /// <summary>Reads the after images once the save has run: generated values are in the current values now.</summary>
    public static void CompleteAfterImages(List<PendingRow> rows)
    {
        foreach (PendingRow row in rows)
        {
            if (row.Kind == ChangeKind.Delete || row.Lost)
            {
                continue;
            }

            object?[] after = NewImage(row.Table);
            foreach (RowSource source in row.Sources)
            {
                if (source.State == EntityState.Deleted)
                {
                    foreach (PropertyColumn column in source.Map.Columns)
                    {
                        after[column.ColumnIndex] = null; // a dependent removed from a shared row: its columns are NULL now
                    }

                    continue;
                }

                PropertyValues current = source.Entry.CurrentValues;
                foreach (PropertyColumn column in source.Map.Columns)
                {
                    after[column.ColumnIndex] = ColumnValueWriter.Freeze(column.ToProvider(current[column.Property]));
                }
            }

            FillUnmapped(row, after, insert: row.Kind == ChangeKind.Insert);
            row.After = after;
        }
    }

    /// <summary>Sets the row's kind from the states of the entries that fill it; false when none of them changed.</summary>
    private static bool Decide(PendingRow row)
    {
        bool added = false, deleted = false, other = false, changed = false;
        foreach (RowSource source in row.Sources)
        {
            switch (source.State)
            {
                case EntityState.Added:
                    added = changed = true;
                    break;
                case EntityState.Deleted:
                    deleted = changed = true;
                    break;
                case EntityState.Modified:
                    other = changed = true;
                    break;
                default:
                    other = true;
                    break;
            }
        }

        row.Kind = added && !deleted && !other ? ChangeKind.Insert
            : deleted && !added && !other ? ChangeKind.Delete
            : ChangeKind.Update;
        return changed;
    }

    private static object?[] BeforeImage(PendingRow row)
    {
        object?[] before = NewImage(row.Table);
        foreach (RowSource source in row.Sources)
        {
            if (source.State == EntityState.Added)
            {
                foreach (PropertyColumn column in source.Map.Columns)
                {
                    if (before[column.ColumnIndex] == PendingRow.Unknown)
                    {
                        before[column.ColumnIndex] = null; // a dependent added to an existing shared row: its columns were NULL
                    }
                }

                continue;
            }

            PropertyValues original = source.Entry.OriginalValues;
            foreach (PropertyColumn column in source.Map.Columns)
            {
                before[column.ColumnIndex] = ColumnValueWriter.Freeze(column.ToProvider(original[column.Property]));
            }
        }

        if (row.Kind == ChangeKind.Update && row.Sources.Count == 1 && IsAttachedUpdate(row.Sources[0]))
        {
            // DbSet.Update(detached entity): every property marked modified and the originals are the new values, so the
            // change tracker does not know the old row. Send the key only, as Supabase does without REPLICA IDENTITY FULL.
            int[] keys = row.Table.KeyColumns;
            for (int i = 0; i < before.Length; i++)
            {
                if (Array.IndexOf(keys, i) < 0)
                {
                    before[i] = PendingRow.Unknown;
                }
            }

            return before;
        }

        FillUnmapped(row, before, insert: false);
        return before;
    }

    /// <summary>Columns no source fills: NULL when they belong to a sibling TPH type (or the row is new), else unknown and omitted.</summary>
    private static void FillUnmapped(PendingRow row, object?[] image, bool insert)
    {
        for (int i = 0; i < image.Length; i++)
        {
            if (image[i] == PendingRow.Unknown && (insert || ReferenceEquals(row.Table.ColumnRoots[i], row.Root)))
            {
                image[i] = null;
            }
        }
    }

    private static bool IsAttachedUpdate(RowSource source)
    {
        if (source.State != EntityState.Modified)
        {
            return false;
        }

        EntityEntry entry = source.Entry;
        PropertyValues original = entry.OriginalValues;
        PropertyValues current = entry.CurrentValues;
        int compared = 0;
        foreach (PropertyColumn column in source.Map.Columns)
        {
            if (column.Property.IsPrimaryKey() || column.Property.GetAfterSaveBehavior() != PropertySaveBehavior.Save)
            {
                continue; // keys and store-generated columns are never marked modified by Update()
            }

            if (!entry.Property(column.Property).IsModified)
            {
                continue;
            }

            if (!Equals(original[column.Property], current[column.Property]))
            {
                return false; // a real change: the originals are the database's values
            }

            compared++;
        }

        return compared > 0; // marked modified, yet unchanged: Update()/Attach of an entity the context never read
    }

    private static bool AnyModified(EntityEntry entry, EntityTableMap map)
    {
        foreach (PropertyColumn column in map.Columns)
        {
            if (entry.Property(column.Property).IsModified)
            {
                return true;
            }
        }

        return false;
    }

    private static object?[] KeyValues(EntityEntry entry, EntityTableMap map)
    {
        var values = new object?[map.KeyProperties.Length];
        PropertyValues current = entry.CurrentValues;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = current[map.KeyProperties[i]];
        }

        return values;
    }

    private static object?[] NewImage(TableMap table)
    {
        var image = new object?[table.Columns.Length];
        Array.Fill(image, PendingRow.Unknown);
        return image;
    }

    /// <summary>A row of a shared table, by table and primary key value (temporary keys of new rows are shared by their entries).</summary>
    private readonly struct RowKey(TableMap table, object?[] values) : IEquatable<RowKey>
    {
        private readonly TableMap _table = table;
        private readonly object?[] _values = values;

        public bool Equals(RowKey other)
        {
            if (!ReferenceEquals(_table, other._table) || _values.Length != other._values.Length)
            {
                return false;
            }

            for (int i = 0; i < _values.Length; i++)
            {
                if (!Equals(_values[i], other._values[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is RowKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(_table);
            foreach (object? value in _values)
            {
                hash.Add(value);
            }

            return hash.ToHashCode();
        }
    }
}

/// <summary>An entry that fills (part of) a row, with its state when the save began (EF resets it afterwards).</summary>
internal readonly record struct RowSource(EntityEntry Entry, EntityTableMap Map, EntityState State);
