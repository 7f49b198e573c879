using System.Globalization;
using System.IO.Pipelines;
using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Runs one PostgreSQL-protocol session's simple Query messages on the sample database, through the same dialect shim
/// and statement path as <c>POST /sql</c> (<see cref="SqlBatch.Prepare"/>), and writes the backend's answers.
/// </summary>
/// <remarks>
/// <para>
/// As in PostgreSQL, the statements of one Query message form one implicit transaction unless a <c>BEGIN</c> opens
/// an explicit one; an error ends the message (the rest is not run) and undoes its implicit transaction, or turns an
/// explicit one into a failed block (<c>E</c>) where everything but <c>COMMIT</c>/<c>ROLLBACK</c> is refused with 25P02.
/// </para>
/// <para>
/// An explicit transaction spans messages, so the session keeps the database (<see cref="SampleDatabase.EnterAsync"/>)
/// from <c>BEGIN</c> to <c>COMMIT</c>/<c>ROLLBACK</c>: SQLite has one writer, and the capture publishes on its commit,
/// so events come after <c>COMMIT</c> and never after <c>ROLLBACK</c>. Other clients wait meanwhile.
/// </para>
/// </remarks>
internal sealed class PgQueryRunner
{
    private readonly long _maxResultBytes;
    private bool _implicit;

    /// <summary>Initializes a new instance of the <see cref="PgQueryRunner"/> class.</summary>
    /// <param name="maxResultBytes">
    /// The most bytes an answer may hold before it is written to the socket: <see cref="SampleOptions.MaxResponseBytes"/>,
    /// the cap <c>POST /sql</c> has. An answer is built while the database is held and sent after it is released (so a
    /// client that never reads blocks only itself); this keeps that buffer bounded. A larger result ends with 54000.
    /// </param>
    public PgQueryRunner(long maxResultBytes = SampleOptions.DefaultMaxResponseBytes)
    {
        _maxResultBytes = maxResultBytes;
    }

    /// <summary>What <see cref="Enter"/> decided for a statement.</summary>
    internal enum Admission
    {
        /// <summary>Run it: a transaction is open for it.</summary>
        Run,

        /// <summary>It was transaction control, and is answered.</summary>
        Answered,

        /// <summary>The transaction block failed: refused with 25P02 (written).</summary>
        Refused,
    }

    /// <summary>Gets the transaction status <c>ReadyForQuery</c> reports: <c>I</c>, <c>T</c> or <c>E</c>.</summary>
    public byte Status { get; private set; } = (byte)'I';

    /// <summary>Gets whether the session is inside an explicit transaction block (and so keeps the database).</summary>
    public bool InTransaction => Status != (byte)'I';

    /// <summary>Runs the statements of one Query message and writes their answers (not <c>ReadyForQuery</c>).</summary>
    public void Run(SqliteConnection connection, string sql, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(output);
        if (PgCatalog.IsCatalogQuery(sql, out string? replacement, out string refusal))
        {
            if (replacement is null)
            {
                PgMessageWriter.ErrorResponse(output, "ERROR", "0A000", refusal);
                return;
            }

            sql = replacement;
        }

        List<string> statements = SqlScript.Split(sql);
        if (statements.Count == 0)
        {
            PgMessageWriter.EmptyQueryResponse(output);
            return;
        }

        long start = output.UnflushedBytes;
        try
        {
            foreach (string statement in statements)
            {
                if (!RunOne(connection, statement, output, start))
                {
                    break;
                }
            }

            CommitImplicit(connection);
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException or ArgumentException or PgErrorException)
        {
            Fail(connection, output, ex);
        }
    }

    /// <summary>Undoes an open transaction when the session ends (as PostgreSQL does when a client goes away).</summary>
    public void Abandon(SqliteConnection connection)
    {
        if (InTransaction || _implicit)
        {
            SqlBatch.RollBack(connection);
        }

        _implicit = false;
        Status = (byte)'I';
    }

    /// <summary>
    /// Admits one statement: answers transaction control (<c>BEGIN</c>/<c>COMMIT</c>/<c>ROLLBACK</c>), refuses
    /// everything else inside a failed block (25P02), else opens the implicit transaction it runs in if none is open.
    /// </summary>
    internal Admission Enter(SqliteConnection connection, SqlBatch.Control control, PipeWriter output)
    {
        if (Status == (byte)'E')
        {
            if (control is SqlBatch.Control.Commit or SqlBatch.Control.Rollback)
            {
                Status = (byte)'I';
                PgMessageWriter.CommandComplete(output, "ROLLBACK");
                return Admission.Answered;
            }

            PgMessageWriter.ErrorResponse(output, "ERROR", "25P02", "current transaction is aborted, commands ignored until end of transaction block");
            return Admission.Refused;
        }

        switch (control)
        {
            case SqlBatch.Control.Begin:
                if (Status == (byte)'T')
                {
                    PgMessageWriter.ErrorResponse(output, "WARNING", "25001", "there is already a transaction in progress", notice: true);
                }
                else
                {
                    if (!_implicit)
                    {
                        SqlBatch.Run(connection, "BEGIN");
                    }

                    _implicit = false;
                    Status = (byte)'T';
                }

                PgMessageWriter.CommandComplete(output, "BEGIN");
                return Admission.Answered;
            case SqlBatch.Control.Commit:
            case SqlBatch.Control.Rollback:
                string word = control == SqlBatch.Control.Commit ? "COMMIT" : "ROLLBACK";
                if (Status == (byte)'T' || _implicit)
                {
                    SqlBatch.Run(connection, word);
                    Status = (byte)'I';
                    _implicit = false;
                }
                else
                {
                    PgMessageWriter.ErrorResponse(output, "WARNING", "25P01", "there is no transaction in progress", notice: true);
                }

                PgMessageWriter.CommandComplete(output, word);
                return Admission.Answered;
        }

        if (Status == (byte)'I' && !_implicit)
        {
            SqlBatch.Run(connection, "BEGIN");
            _implicit = true;
        }

        return Admission.Run;
    }

    /// <summary>Commits the implicit transaction, if one is open: at the end of a Query message, or at <c>Sync</c>.</summary>
    internal void CommitImplicit(SqliteConnection connection)
    {
        if (_implicit)
        {
            // Cleared only once COMMIT succeeded: if it fails, Fail finds the transaction open and rolls it back.
            SqlBatch.Run(connection, "COMMIT");
            _implicit = false;
        }
    }

    /// <summary>Gets whether an answer of <paramref name="bytes"/> is past the cap; then the statement fails with 54000.</summary>
    internal void CheckAnswerSize(long bytes)
    {
        if (bytes > _maxResultBytes)
        {
            throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture,
                $"the result exceeds the sample's limit of {_maxResultBytes} bytes per answer (Sample:MaxResponseBytes); add a LIMIT"));
        }
    }

    private bool RunOne(SqliteConnection connection, string statement, PipeWriter output, long start)
    {
        switch (Enter(connection, SqlBatch.Classify(statement), output))
        {
            case Admission.Answered:
                return true;
            case Admission.Refused:
                return false;
        }

        using SqliteCommand command = SqlBatch.Prepare(connection, statement, out string tag);
        using SqliteDataReader reader = command.ExecuteReader();
        long rows = 0;
        if (reader.FieldCount > 0)
        {
            var names = new string[reader.FieldCount];
            var oids = new int[reader.FieldCount];
            for (int i = 0; i < names.Length; i++)
            {
                names[i] = reader.GetName(i);
                oids[i] = PgTypes.Oid(reader.GetDataTypeName(i));
            }

            PgMessageWriter.RowDescription(output, names, oids);
            var values = new string?[names.Length];
            while (reader.Read())
            {
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = PgTypes.Text(reader.GetValue(i), oids[i]);
                }

                PgMessageWriter.DataRow(output, values);
                rows++;
                CheckAnswerSize(output.UnflushedBytes - start);
            }
        }

        int affected = reader.RecordsAffected;
        PgMessageWriter.CommandComplete(output, PgTypes.CommandTag(tag, affected, rows));
        return true;
    }

    /// <summary>
    /// Reports a failed statement as PostgreSQL does (ERROR with a SQLSTATE) and undoes the transaction it ran in: an
    /// implicit one is gone, an explicit block becomes failed (<c>E</c>). <paramref name="connection"/> is
    /// <see langword="null"/> when the session does not hold the database (then no transaction is open).
    /// </summary>
    internal void Fail(SqliteConnection? connection, PipeWriter output, Exception ex)
    {
        string message = ex is SqliteException sqlite
            ? (sqlite.SqliteErrorCode == 9 ? "canceling statement due to statement timeout" : SqlBatch.CleanMessage(sqlite))
            : ex.Message;
        string state = ex switch
        {
            SqliteException e => PgTypes.SqlState(e, message),
            PgErrorException e => e.SqlState,
            _ => message.Contains("limit", StringComparison.Ordinal) ? "54000" : "XX000",
        };
        PgMessageWriter.ErrorResponse(output, "ERROR", state, message);
        if (connection is not null && (_implicit || Status == (byte)'T'))
        {
            SqlBatch.RollBack(connection);
        }

        _implicit = false;
        if (Status == (byte)'T')
        {
            Status = (byte)'E';
        }
    }
}
