using System.Text;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>One <c>postgres_changes</c> binding of a joined channel: which table and kinds, an optional row filter, and its id.</summary>
internal sealed class PostgresBinding
{
    /// <summary>Binding ids are below 2^27, as Supabase's (they stay exact in every JSON client).</summary>
    internal const int IdMask = (1 << 27) - 1;

    public PostgresBinding(int id, string eventName, string schema, string table, string? filterText, RowFilter? filter)
    {
        Id = id;
        EventName = eventName;
        Schema = schema;
        Table = table;
        FilterText = filterText;
        Filter = filter;
        Kinds = eventName.ToUpperInvariant() switch
        {
            "INSERT" => ChangeKinds.Insert,
            "UPDATE" => ChangeKinds.Update,
            "DELETE" => ChangeKinds.Delete,
            _ => ChangeKinds.All, // "*" and anything else, as Supabase
        };
    }

    public int Id { get; }

    public string EventName { get; }

    public string Schema { get; }

    public string Table { get; }

    public string? FilterText { get; }

    public RowFilter? Filter { get; }

    public ChangeKinds Kinds { get; }

    public TableFilter ToTableFilter() => new(Schema, Table, Kinds);

    /// <summary>Returns whether <paramref name="change"/> matches the table, kind and row filter (DELETE is matched against the old row).</summary>
    public bool Matches(ChangeEvent change) => Matches(change, change.Kind);

    /// <summary>Returns whether <paramref name="change"/> matches as if it were of kind <paramref name="kind"/> (a row policy turns an UPDATE that crosses its boundary into an INSERT or DELETE).</summary>
    public bool Matches(ChangeEvent change, ChangeKind kind)
    {
        if (!MatchesTableAndKind(change, kind))
        {
            return false;
        }

        if (Filter is null)
        {
            return true;
        }

        ReadOnlyMemory<byte> row = kind == ChangeKind.Delete ? change.OldRecord : change.Record;
        return Filter.Matches(row.Span, change.Columns);
    }

    /// <summary>Returns whether <paramref name="change"/>'s table and kind (taken as <paramref name="kind"/>) match, leaving the row filter aside.</summary>
    public bool MatchesTableAndKind(ChangeEvent change, ChangeKind kind) =>
        ((int)Kinds & (int)kind) != 0
        && (Schema == TableFilter.Wildcard || string.Equals(Schema, change.Schema, StringComparison.Ordinal))
        && (Table == TableFilter.Wildcard || string.Equals(Table, change.Table, StringComparison.Ordinal));

    /// <summary>
    /// Computes the binding id: a 32-bit FNV-1a hash of the binding's parameters as the client sent them, masked to
    /// 27 bits. Deterministic across processes and machines (unlike <see cref="string.GetHashCode()"/>), so identical
    /// parameters always get identical ids.
    /// </summary>
    public static int ComputeId(string? eventName, string? schema, string? table, string? filter)
    {
        uint hash = 2166136261;
        Mix(ref hash, eventName);
        Mix(ref hash, schema);
        Mix(ref hash, table);
        Mix(ref hash, filter);
        return (int)(hash & IdMask);

        static void Mix(ref uint hash, string? value)
        {
            // A marker byte separates fields and tells null from "" so ("a","bc") and ("ab","c") differ.
            hash = (hash ^ (value is null ? 0u : 1u)) * 16777619;
            if (value is null)
            {
                return;
            }

            Span<byte> buffer = stackalloc byte[256];
            int max = Encoding.UTF8.GetMaxByteCount(value.Length);
            byte[]? rented = max > buffer.Length ? new byte[max] : null;
            Span<byte> bytes = rented ?? buffer;
            int length = Encoding.UTF8.GetBytes(value, bytes);
            foreach (byte b in bytes[..length])
            {
                hash = (hash ^ b) * 16777619;
            }

            hash = (hash ^ 0xFF) * 16777619;
        }
    }
}
