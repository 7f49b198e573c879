using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// A portal of the extended query protocol (<c>Bind</c>): a statement with its parameters bound, as a SQLite
/// statement that <c>Execute</c> steps, all at once or <c>n</c> rows at a time (then <c>PortalSuspended</c>, and the
/// next <c>Execute</c> goes on where it stopped).
/// </summary>
/// <remarks>
/// A portal exists only inside a transaction, and so only while the session holds the database: the implicit one ends
/// at <c>Sync</c>, an explicit one at <c>COMMIT</c>/<c>ROLLBACK</c>, and the portals with it (as in PostgreSQL, where
/// portals are not holdable). Its SQLite statement is finalized when it closes.
/// </remarks>
internal sealed class PgPortal : IDisposable
{
    private readonly sqlite3_stmt? _statement;
    private int _pending = -1;

    /// <summary>Initializes a new instance of the <see cref="PgPortal"/> class.</summary>
    /// <param name="name">The portal's name; empty for the unnamed portal.</param>
    /// <param name="statement">The prepared statement it runs.</param>
    /// <param name="sqlite">The SQLite statement, parameters bound; <see langword="null"/> for an empty query or transaction control.</param>
    /// <param name="resultFormats">The result format codes of the <c>Bind</c>.</param>
    public PgPortal(string name, PgStatement statement, sqlite3_stmt? sqlite, short[] resultFormats)
    {
        Name = name;
        Statement = statement;
        _statement = sqlite;
        ResultFormats = resultFormats;
    }

    /// <summary>Gets the portal's name.</summary>
    public string Name { get; }

    /// <summary>Gets the statement the portal runs.</summary>
    public PgStatement Statement { get; }

    /// <summary>Gets the result format codes (none: all text, one: for all, else one per column).</summary>
    public short[] ResultFormats { get; }

    /// <summary>Gets the result columns once known (described or first executed).</summary>
    public PgColumn[]? Columns { get; private set; }

    /// <summary>Gets whether every row was returned (a further <c>Execute</c> returns none).</summary>
    public bool IsDone => _pending == raw.SQLITE_DONE;

    /// <summary>Gets the result columns: the statement's if it was described, else the declared types, else what the first row holds.</summary>
    /// <exception cref="SqliteException">Running up to the first row failed.</exception>
    /// <exception cref="PgErrorException">The result formats do not match the columns (08P01).</exception>
    public PgColumn[] Describe(sqlite3 database)
    {
        if (Columns is not null)
        {
            return Columns;
        }

        if (_statement is null)
        {
            return Columns = [];
        }

        int count = raw.sqlite3_column_count(_statement);
        if (ResultFormats.Length > 1 && ResultFormats.Length != count)
        {
            throw new PgErrorException("08P01", string.Create(CultureInfo.InvariantCulture, $"bind message has {ResultFormats.Length} result formats but query has {count} columns"));
        }

        if (Statement.Columns is { } described && described.Length == count)
        {
            return Columns = described;
        }

        if (!AllDeclared(_statement, count) && _pending < 0)
        {
            Step(database);
        }

        return Columns = Read(_statement, count, _pending == raw.SQLITE_ROW);
    }

    /// <summary>Gets the columns of a prepared, not yet stepped statement (for <c>Describe</c> of a statement).</summary>
    /// <remarks>An expression column has no declared type; for a read-only statement one step (parameters NULL) shows what SQLite stores there.</remarks>
    public static PgColumn[] DescribeUnstepped(sqlite3_stmt statement)
    {
        int count = raw.sqlite3_column_count(statement);
        bool row = false;
        if (count > 0 && !AllDeclared(statement, count) && raw.sqlite3_stmt_readonly(statement) != 0)
        {
            row = raw.sqlite3_step(statement) == raw.SQLITE_ROW;
        }

        PgColumn[] columns = Read(statement, count, row);
        raw.sqlite3_reset(statement);
        return columns;
    }

    /// <summary>Runs the portal: up to <paramref name="maxRows"/> rows (0: all) as <c>DataRow</c>s, then <c>CommandComplete</c> or <c>PortalSuspended</c>.</summary>
    /// <exception cref="SqliteException">SQLite failed (a constraint, the statement timeout).</exception>
    /// <exception cref="PgErrorException">A value does not convert to its column's type.</exception>
    /// <exception cref="InvalidOperationException">The answer passed the response cap (54000).</exception>
    public void Execute(sqlite3 database, int maxRows, PipeWriter output, ArrayBufferWriter<byte> row, PgQueryRunner runner)
    {
        if (_statement is null)
        {
            return;
        }

        PgColumn[] columns = Describe(database);
        if (_pending < 0)
        {
            Step(database);
        }

        long sent = 0;
        while (_pending == raw.SQLITE_ROW)
        {
            if (maxRows > 0 && sent == maxRows)
            {
                PgMessageWriter.PortalSuspended(output);
                return;
            }

            row.Clear();
            for (int i = 0; i < columns.Length; i++)
            {
                PgValueEncoder.Write(_statement, i, columns[i].TypeOid, PgBindMessage.Format(ResultFormats, i), row);
            }

            PgMessageWriter.DataRow(output, columns.Length, row.WrittenSpan);
            sent++;
            runner.CheckAnswerSize(output.UnflushedBytes);
            Step(database);
        }

        PgMessageWriter.CommandComplete(output, PgTypes.CommandTag(Statement.Tag, raw.sqlite3_changes(database), sent));
    }

    /// <inheritdoc/>
    public void Dispose() => _statement?.Dispose();

    private static bool AllDeclared(sqlite3_stmt statement, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (raw.sqlite3_column_decltype(statement, i).utf8_to_string() is null)
            {
                return false;
            }
        }

        return true;
    }

    private static PgColumn[] Read(sqlite3_stmt statement, int count, bool row)
    {
        var columns = new PgColumn[count];
        for (int i = 0; i < count; i++)
        {
            string name = raw.sqlite3_column_name(statement, i).utf8_to_string() ?? "?column?";
            string? declared = raw.sqlite3_column_decltype(statement, i).utf8_to_string();
            int oid = declared is not null ? PgTypes.Oid(declared)
                : !row ? PgOid.Text
                : raw.sqlite3_column_type(statement, i) switch
                {
                    raw.SQLITE_INTEGER => PgOid.Int8,
                    raw.SQLITE_FLOAT => PgOid.Float8,
                    raw.SQLITE_BLOB => PgOid.Bytea,
                    _ => PgOid.Text,
                };
            columns[i] = new PgColumn(name, oid);
        }

        return columns;
    }

    private void Step(sqlite3 database)
    {
        int rc = raw.sqlite3_step(_statement);
        if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            _pending = raw.SQLITE_DONE;
            SqliteException.ThrowExceptionForRC(rc, database);
        }

        _pending = rc;
    }
}
