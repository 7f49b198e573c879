using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// One session's extended query protocol: named and unnamed prepared statements (<c>Parse</c>), portals
/// (<c>Bind</c>), <c>Describe</c>, <c>Execute</c> with a row limit, <c>Close</c> and <c>Sync</c>, over the session's
/// <see cref="PgQueryRunner"/>, so transactions behave as in the simple protocol.
/// </summary>
/// <remarks>
/// <para>
/// As in PostgreSQL, the messages up to <c>Sync</c> run in one implicit transaction unless a <c>BEGIN</c> opens an
/// explicit block; <c>Sync</c> commits the implicit one (so its changes are published then), and an error rolls it
/// back, is reported once, and makes the session discard every message up to the next <c>Sync</c>.
/// </para>
/// <para>
/// The connection calls <see cref="Bind"/>, <see cref="Describe"/> and <see cref="Execute"/> with the database held;
/// <see cref="Parse"/> and <see cref="Close"/> need it not, as a statement holds no SQLite resources. Portals hold
/// SQLite statements and exist only inside a transaction, so only while the database is held.
/// </para>
/// </remarks>
internal sealed class PgExtendedQuery
{
    private readonly Dictionary<string, PgStatement> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PgPortal> _portals = new(StringComparer.Ordinal);
    private readonly PgQueryRunner _runner;

    /// <summary>One row's fields, encoded here before they are framed as a <c>DataRow</c>; reused for every row.</summary>
    private readonly ArrayBufferWriter<byte> _row = new(256);

    /// <summary>Initializes a new instance of the <see cref="PgExtendedQuery"/> class over the session's transaction state.</summary>
    public PgExtendedQuery(PgQueryRunner runner)
    {
        _runner = runner;
    }

    /// <summary>Gets whether an error was reported and every message up to <c>Sync</c> is discarded.</summary>
    public bool SkippingToSync { get; private set; }

    /// <summary>Gets whether a portal is open (so the session must keep the database).</summary>
    public bool HasPortals => _portals.Count > 0;

    /// <summary>Handles <c>Parse</c>: stores the statement (the unnamed one is replaced), answers <c>ParseComplete</c>.</summary>
    public void Parse(SqliteConnection? connection, PgParseMessage message, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            if (message.Name.Length > 0 && _statements.ContainsKey(message.Name))
            {
                throw new PgErrorException("42P05", $"prepared statement \"{message.Name}\" already exists");
            }

            _statements[message.Name] = new PgStatement(message);
            PgMessageWriter.Empty(output, (byte)'1');
        }
        catch (Exception ex) when (IsStatementError(ex))
        {
            Failed(connection, output, ex);
        }
    }

    /// <summary>Handles <c>Bind</c>: prepares the statement on SQLite, binds the parameters, opens the portal, answers <c>BindComplete</c>.</summary>
    public void Bind(SqliteConnection connection, PgBindMessage message, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            PgStatement statement = Statement(message.Statement);
            if (message.Portal.Length > 0 && _portals.ContainsKey(message.Portal))
            {
                throw new PgErrorException("42P03", $"cursor \"{message.Portal}\" already exists");
            }

            if (_runner.Status == (byte)'E' && statement.Control is not (SqlBatch.Control.Commit or SqlBatch.Control.Rollback))
            {
                throw new PgErrorException("25P02", "current transaction is aborted, commands ignored until end of transaction block");
            }

            if (message.ParameterFormats.Length > 1 && message.ParameterFormats.Length != message.Parameters.Length)
            {
                throw new PgErrorException("08P01", string.Create(CultureInfo.InvariantCulture, $"bind message has {message.ParameterFormats.Length} parameter formats but {message.Parameters.Length} parameters"));
            }

            ClosePortal(message.Portal);
            SQLitePCL.sqlite3_stmt? sqlite = null;
            if (!statement.IsEmpty && statement.Control == SqlBatch.Control.None)
            {
                _runner.Enter(connection, SqlBatch.Control.None, output);
                sqlite = statement.Prepare(connection.Handle!);
            }

            try
            {
                if (message.Parameters.Length != statement.ParameterTypes.Length)
                {
                    throw new PgErrorException("08P01", string.Create(CultureInfo.InvariantCulture, $"bind message supplies {message.Parameters.Length} parameters, but prepared statement \"{statement.Name}\" requires {statement.ParameterTypes.Length}"));
                }

                for (int i = 0; sqlite is not null && i < message.Parameters.Length; i++)
                {
                    PgParameterDecoder.Bind(sqlite, statement.ParameterIndex(i + 1), statement.ParameterTypes[i], message.ParameterFormat(i), message.Parameters[i]);
                }
            }
            catch
            {
                sqlite?.Dispose();
                throw;
            }

            _portals[message.Portal] = new PgPortal(message.Portal, statement, sqlite, message.ResultFormats);
            PgMessageWriter.Empty(output, (byte)'2');
        }
        catch (Exception ex) when (IsStatementError(ex))
        {
            Failed(connection, output, ex);
        }
    }

    /// <summary>Handles <c>Describe</c>: of a statement, <c>ParameterDescription</c> then <c>RowDescription</c> or <c>NoData</c>; of a portal, the latter.</summary>
    public void Describe(SqliteConnection connection, byte kind, string name, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(connection);
        try
        {
            if (kind == (byte)'S')
            {
                PgStatement statement = Statement(name);
                if (!statement.IsEmpty && statement.Control == SqlBatch.Control.None && (statement.Columns is null || !statement.IsResolved))
                {
                    using SQLitePCL.sqlite3_stmt sqlite = statement.Prepare(connection.Handle!);
                    statement.Columns = PgPortal.DescribeUnstepped(sqlite);
                }

                // An unspecified type is reported as text: the client then sends the value in text form, which any type reads.
                PgMessageWriter.ParameterDescription(output, [.. statement.ParameterTypes.Select(static t => t == PgOid.Unspecified ? PgOid.Text : t)]);
                Rows(output, statement.Columns ?? [], []);
                return;
            }

            PgPortal portal = Portal(name);
            Rows(output, portal.Describe(connection.Handle!), portal.ResultFormats);
        }
        catch (Exception ex) when (IsStatementError(ex))
        {
            Failed(connection, output, ex);
        }
    }

    /// <summary>Handles <c>Execute</c>: runs the portal up to <paramref name="maxRows"/> rows (0: all).</summary>
    /// <returns>Whether the statement may have changed the schema (<c>CREATE</c>, <c>ALTER</c>, <c>DROP</c>), so tables must be registered again.</returns>
    public bool Execute(SqliteConnection connection, string name, int maxRows, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(connection);
        try
        {
            PgPortal portal = Portal(name);
            PgStatement statement = portal.Statement;
            if (statement.IsEmpty)
            {
                PgMessageWriter.EmptyQueryResponse(output);
                return false;
            }

            if (statement.Control != SqlBatch.Control.None)
            {
                if (statement.Control != SqlBatch.Control.Begin)
                {
                    // The transaction ends: so do its portals, whose SQLite statements must be finalized before COMMIT.
                    ClosePortals();
                }

                if (_runner.Enter(connection, statement.Control, output) == PgQueryRunner.Admission.Refused)
                {
                    SkippingToSync = true;
                }

                return false;
            }

            portal.Execute(connection.Handle!, maxRows, output, _row, _runner);
            return statement.Tag.StartsWith("CREATE", StringComparison.Ordinal) || statement.Tag.StartsWith("ALTER", StringComparison.Ordinal) || statement.Tag.StartsWith("DROP", StringComparison.Ordinal);
        }
        catch (Exception ex) when (IsStatementError(ex))
        {
            Failed(connection, output, ex);
            return true;
        }
    }

    /// <summary>Handles <c>Close</c> of a statement (and its portals) or a portal; closing one that does not exist is no error.</summary>
    public void Close(byte kind, string name, PipeWriter output)
    {
        if (kind == (byte)'S')
        {
            if (_statements.Remove(name, out PgStatement? statement))
            {
                foreach (PgPortal portal in _portals.Values.Where(p => p.Statement == statement).ToList())
                {
                    ClosePortal(portal.Name);
                }
            }
        }
        else
        {
            ClosePortal(name);
        }

        PgMessageWriter.Empty(output, (byte)'3');
    }

    /// <summary>
    /// Handles <c>Sync</c>: outside an explicit block, closes the portals and commits the implicit transaction (an error
    /// there is reported); stops discarding. The caller then sends <c>ReadyForQuery</c>.
    /// </summary>
    public void Sync(SqliteConnection? connection, PipeWriter output)
    {
        SkippingToSync = false;
        if (connection is null || _runner.InTransaction)
        {
            return;
        }

        ClosePortals();
        try
        {
            _runner.CommitImplicit(connection);
        }
        catch (SqliteException ex)
        {
            _runner.Fail(connection, output, ex);
        }
    }

    /// <summary>A simple Query message drops the unnamed statement and portal, as in PostgreSQL.</summary>
    public void DropUnnamed()
    {
        ClosePortal(string.Empty);
        _statements.Remove(string.Empty);
    }

    /// <summary>Forgets every statement and portal (<c>DISCARD ALL</c>).</summary>
    public void DiscardAll()
    {
        ClosePortals();
        _statements.Clear();
    }

    /// <summary>Closes every portal, finalizing its SQLite statement; call it while the database is held.</summary>
    public void ClosePortals()
    {
        foreach (PgPortal portal in _portals.Values)
        {
            portal.Dispose();
        }

        _portals.Clear();
    }

    private static bool IsStatementError(Exception ex) =>
        ex is SqliteException or PgErrorException or InvalidOperationException or OverflowException or ArgumentException;

    private static void Rows(PipeWriter output, PgColumn[] columns, short[] formats)
    {
        if (columns.Length == 0)
        {
            PgMessageWriter.Empty(output, (byte)'n');
        }
        else
        {
            PgMessageWriter.RowDescription(output, columns, formats);
        }
    }

    private PgStatement Statement(string name) =>
        _statements.TryGetValue(name, out PgStatement? statement) ? statement
            : throw new PgErrorException("26000", $"prepared statement \"{name}\" does not exist");

    private PgPortal Portal(string name) =>
        _portals.TryGetValue(name, out PgPortal? portal) ? portal
            : throw new PgErrorException("34000", $"portal \"{name}\" does not exist");

    private void Failed(SqliteConnection? connection, PipeWriter output, Exception ex)
    {
        if (ex is OverflowException)
        {
            ex = new PgErrorException("22003", "value out of range for its column's type");
        }

        ClosePortals();
        _runner.Fail(connection, output, ex);
        SkippingToSync = true;
    }

    private void ClosePortal(string name)
    {
        if (_portals.Remove(name, out PgPortal? portal))
        {
            portal.Dispose();
        }
    }
}
