using System.Globalization;
using HeliosNano.Realtime.Sample.Sql;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// A prepared statement of the extended query protocol (<c>Parse</c>): one statement's SQL, translated once by the
/// dialect shim, its command tag, its parameter types and, once described, its result columns. It holds no SQLite
/// resources between uses, so it outlives the database hold of the batch that parsed it.
/// </summary>
internal sealed class PgStatement
{
    private int[]? _parameterIndexes;

    /// <summary>Initializes a new instance of the <see cref="PgStatement"/> class from a <c>Parse</c> message.</summary>
    /// <exception cref="PgErrorException">The SQL holds several statements (42601) or a NUL (22021), or queries <c>pg_catalog</c> (0A000).</exception>
    public PgStatement(PgParseMessage parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        Name = parse.Name;
        string sql = parse.Query;
        if (PgCatalog.IsCatalogQuery(sql, out string? replacement, out string refusal))
        {
            sql = replacement ?? throw new PgErrorException("0A000", refusal);
        }

        if (sql.Contains('\0', StringComparison.Ordinal))
        {
            throw new PgErrorException("22021", "the query contains a NUL character, which SQLite cannot run; nothing was executed");
        }

        List<string> statements = SqlScript.Split(sql);
        if (statements.Count > 1)
        {
            throw new PgErrorException("42601", "cannot insert multiple commands into a prepared statement");
        }

        IsEmpty = statements.Count == 0;
        string statement = IsEmpty ? string.Empty : statements[0];
        Control = IsEmpty ? SqlBatch.Control.None : SqlBatch.Classify(statement);
        Tag = IsEmpty ? string.Empty : SqlBatch.CommandTag(statement);
        Sql = IsEmpty || Control != SqlBatch.Control.None ? statement : PostgresDialect.Translate(statement);
        ParameterTypes = parse.ParameterTypes;
    }

    /// <summary>Gets the statement's name; empty for the unnamed statement.</summary>
    public string Name { get; }

    /// <summary>Gets the SQL SQLite runs (translated by the dialect shim).</summary>
    public string Sql { get; }

    /// <summary>Gets whether the query string held no statement (<c>Execute</c> answers <c>EmptyQueryResponse</c>).</summary>
    public bool IsEmpty { get; }

    /// <summary>Gets whether this is <c>BEGIN</c>, <c>COMMIT</c> or <c>ROLLBACK</c>, which the session runs itself.</summary>
    public SqlBatch.Control Control { get; }

    /// <summary>Gets the psql-style command tag (<c>INSERT</c>, <c>SELECT</c>, …) <see cref="PgTypes.CommandTag"/> completes.</summary>
    public string Tag { get; }

    /// <summary>Gets the parameter type OIDs: as the client gave them, widened to the SQL's highest <c>$n</c> once prepared (0 where unspecified).</summary>
    public int[] ParameterTypes { get; private set; }

    /// <summary>Gets the result columns once the statement was described; <see langword="null"/> before.</summary>
    public PgColumn[]? Columns { get; set; }

    /// <summary>Gets whether the statement was prepared once (so <see cref="ParameterTypes"/> counts every <c>$n</c>).</summary>
    public bool IsResolved => _parameterIndexes is not null;

    /// <summary>Gets SQLite's index of parameter <c>$<paramref name="number"/></c> (1-based), 0 if the SQL does not use it.</summary>
    public int ParameterIndex(int number) => _parameterIndexes is { } indexes && number <= indexes.Length ? indexes[number - 1] : 0;

    /// <summary>Prepares the statement on <paramref name="database"/>; the caller finalizes it.</summary>
    /// <exception cref="Microsoft.Data.Sqlite.SqliteException">SQLite refuses the SQL.</exception>
    /// <exception cref="PgErrorException">A placeholder is not <c>$n</c> (42P02).</exception>
    public sqlite3_stmt Prepare(sqlite3 database)
    {
        int rc = raw.sqlite3_prepare_v2(database, Sql, out sqlite3_stmt statement);
        if (rc != raw.SQLITE_OK)
        {
            statement.Dispose();
            Microsoft.Data.Sqlite.SqliteException.ThrowExceptionForRC(rc, database);
        }

        if (_parameterIndexes is null)
        {
            try
            {
                Resolve(statement);
            }
            catch
            {
                statement.Dispose();
                throw;
            }
        }

        return statement;
    }

    private void Resolve(sqlite3_stmt statement)
    {
        int count = raw.sqlite3_bind_parameter_count(statement);
        int highest = 0;
        for (int i = 1; i <= count; i++)
        {
            string? name = raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string();
            if (name is null || name.Length < 2 || name[0] != '$' || !int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > short.MaxValue)
            {
                throw new PgErrorException("42P02", $"this sample takes parameters as $1, $2, …; \"{name ?? "?"}\" is not one");
            }

            highest = Math.Max(highest, number);
        }

        int total = Math.Max(highest, ParameterTypes.Length);
        var indexes = new int[total];
        for (int n = 1; n <= total; n++)
        {
            indexes[n - 1] = raw.sqlite3_bind_parameter_index(statement, "$" + n.ToString(CultureInfo.InvariantCulture));
        }

        if (total > ParameterTypes.Length)
        {
            int[] types = new int[total];
            ParameterTypes.CopyTo(types, 0);
            ParameterTypes = types;
        }

        _parameterIndexes = indexes;
    }
}
