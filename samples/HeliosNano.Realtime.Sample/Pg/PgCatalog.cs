namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// What the sample answers to psql's own catalog queries: SQLite has no <c>pg_catalog</c>, so psql's <c>\dt</c> (no
/// pattern) is answered from <c>sqlite_schema</c>, and any other query naming <c>pg_catalog</c> (<c>\d orders</c>,
/// <c>\l</c>, <c>\dt pattern</c>) gets a clear error instead of SQLite's "syntax error".
/// </summary>
internal static class PgCatalog
{
    /// <summary>The SQL that lists the tables as psql's <c>\dt</c> prints them.</summary>
    public const string ListTables =
        "SELECT 'public' AS \"Schema\", name AS \"Name\", 'table' AS \"Type\", 'postgres' AS \"Owner\" " +
        "FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";

    /// <summary>The message for a catalog query the sample cannot answer.</summary>
    public const string Unsupported =
        "this SQLite-backed sample has no pg_catalog: psql's \\dt (without a pattern) works, other \\d commands do not; " +
        "try SELECT name, sql FROM sqlite_schema";

    /// <summary>The message for Npgsql's type loading, which it runs on open unless told not to.</summary>
    public const string NpgsqlTypeLoading =
        "this SQLite-backed sample has no pg_type for Npgsql to load types from: add \"Server Compatibility Mode=NoTypeLoading\" " +
        "to the connection string (Npgsql then uses its built-in types, which is all the sample has)";

    /// <summary>Gets whether <paramref name="sql"/> is a catalog query, and the SQL to run instead (<see langword="null"/>: refuse it).</summary>
    public static bool IsCatalogQuery(string sql, out string? replacement) => IsCatalogQuery(sql, out replacement, out _);

    /// <summary>Gets whether <paramref name="sql"/> is a catalog query, the SQL to run instead (<see langword="null"/>: refuse it) and the message of a refusal.</summary>
    public static bool IsCatalogQuery(string sql, out string? replacement, out string message)
    {
        ArgumentNullException.ThrowIfNull(sql);
        replacement = null;
        message = Unsupported;
        if (sql.Contains("pg_type", StringComparison.Ordinal) && sql.Contains("typtype", StringComparison.Ordinal))
        {
            message = NpgsqlTypeLoading;
            return true;
        }

        if (!sql.Contains("pg_catalog.", StringComparison.Ordinal))
        {
            return false;
        }

        bool listsTables = sql.Contains("FROM pg_catalog.pg_class c", StringComparison.Ordinal)
            && sql.Contains("c.relkind IN ('r','p'", StringComparison.Ordinal)
            && sql.Contains("as \"Owner\"", StringComparison.Ordinal)
            && !sql.Contains("OPERATOR(pg_catalog.~)", StringComparison.Ordinal);
        replacement = listsTables ? ListTables : null;
        return true;
    }
}
