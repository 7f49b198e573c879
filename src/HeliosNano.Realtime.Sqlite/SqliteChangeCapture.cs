using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>
/// Captures the row changes committed on one SQLite connection and publishes them to a <see cref="ChangeNotifier"/>;
/// created by <see cref="SqliteChangeCaptureExtensions.CaptureChanges"/>, stopped by <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>What is captured.</b> Every INSERT, UPDATE and DELETE on a table of the connection's <c>main</c> database, whatever
/// SQL issued it (multi-row statements, <c>INSERT … SELECT</c>, upserts, changes made by triggers), through SQLite's
/// pre-update hook, which sees each row with its before and after images. Tables named <c>sqlite_*</c> are skipped.
/// When nobody watches a table (<see cref="ChangeTable.IsWatched"/>), the hook stops after that check: no value is read
/// and nothing is buffered (<see cref="RowsSkipped"/> counts those rows, <see cref="RowsSerialized"/> the others).
/// </para>
/// <para>
/// <b>When it is published.</b> Changes are buffered per transaction and handed to the notifier, in statement order,
/// only once the commit has succeeded. SQLite's commit hook runs <em>before</em> the commit is durable (after it has the
/// exclusive lock, so SQLITE_BUSY comes before it, but an I/O error or a full disk can still fail the commit), so it only
/// marks the transaction as committing; the capture publishes from the
/// statement trace's "statement finished" event (<c>SQLITE_TRACE_PROFILE</c>), which SQLite raises after the statement,
/// commit included, has run and before <c>sqlite3_step</c> returns, once it has checked that no write transaction is
/// still open. A commit that leaves the transaction open (SQLITE_BUSY on COMMIT) publishes nothing yet.
/// </para>
/// <para>
/// <b>What is dropped.</b> A transaction that ends without a commit (ROLLBACK, an error, a rollback by SQLite) drops its
/// changes; it is seen through the rollback hook and, because <see cref="SqliteTransaction"/> takes over that hook while
/// it is open, also from the transaction state when a statement finishes. A statement that fails inside a transaction
/// (SQLite undoes just that statement) drops just its changes: seen as a finished statement with changes buffered and
/// <c>sqlite3_changes()</c> = 0. Savepoints are tracked from the statement text: <c>ROLLBACK TO x</c> drops the changes
/// made since <c>SAVEPOINT x</c> and keeps the earlier ones; <c>RELEASE x</c> keeps them all.
/// </para>
/// <para>
/// <b>Known limits.</b> A COMMIT issued by <see cref="SqliteTransaction.Commit"/> that passes the commit hook and then
/// fails with an I/O error is published (that method clears the rollback hook before committing, so the failure is
/// invisible). A statement reset before it ran to completion (for example an <c>INSERT … RETURNING</c> read with
/// <c>ExecuteScalar</c> in autocommit mode) commits after its "finished" event; that commit is published from the
/// commit hook itself. Changes captured before a subscription started are published only if the table was watched
/// when the row changed. The capture owns the connection's pre-update, commit and trace hooks (and the rollback hook
/// outside transactions): do not set them elsewhere. Tables in attached or temp databases are not captured, nor the
/// rows <c>CREATE TABLE … AS SELECT</c> writes (SQLite does not call the pre-update hook for them). VIRTUAL generated
/// columns are reported as <c>null</c> (they are not stored in the row). A statement that changes no row itself while its
/// BEFORE trigger changed others (<c>RAISE(IGNORE)</c>) looks failed (<c>sqlite3_changes()</c> = 0), so those trigger
/// changes are dropped. Dispose the capture before closing the connection: closing stops the capture but cannot remove
/// the hooks from a native connection that went back to the pool (they then do nothing).
/// </para>
/// <para>
/// <b>Threads.</b> SQLite runs the hooks on the thread executing the statement, under the connection's mutex, so the
/// buffer needs no lock. Counters may be read from any thread. Each connection needs its own capture; any number of
/// connections (and captures) may share one notifier.
/// </para>
/// </remarks>
[DebuggerDisplay("Capturing = {IsCapturing}, Published = {ChangesPublished}, Committed = {TransactionsCommitted}, RolledBack = {TransactionsRolledBack}")]
public sealed unsafe partial class SqliteChangeCapture : IDisposable
{
    /// <summary>Which capture owns which native connection: a second capture on one connection would silently replace the first's hooks.</summary>
    private static readonly ConcurrentDictionary<nint, SqliteChangeCapture> s_active = new();

    private static readonly ChangeRowWriter<RowRef> s_writeRow = WriteRow;

    private const int Capturing = 0;
    private const int Stopped = 1;

    // Arena sizes past which a finished transaction's buffers are dropped instead of kept for reuse: one huge
    // transaction should not pin its memory for the connection's lifetime.
    private const int MaxRetainedChanges = 4096;
    private const int MaxRetainedValues = 64 * 1024;
    private const int MaxRetainedBytes = 1024 * 1024;

    // Name pointers seen by the pre-update hook; a schema reload makes new ones, so the map is reset when it grows past
    // any plausible table count rather than growing with every DROP/CREATE cycle.
    private const int MaxTablePointers = 1024;

    private readonly SqliteConnection _connection;
    private readonly ChangeNotifier _notifier;
    private readonly ILogger _logger;
    private readonly TimeProvider? _timeProvider;
    private readonly bool _numericAsString;
    private readonly nint _db;
    private readonly GCHandle _self;

    private readonly Dictionary<string, TableState> _tablesByName = new(StringComparer.Ordinal);
    private readonly Dictionary<nint, TableState> _tablesByPointer = [];

    private PendingChange[] _changes = new PendingChange[16];
    private int _changeCount;
    private CapturedValue[] _values = new CapturedValue[64];
    private int _valueCount;
    private byte[] _bytes = new byte[1024];
    private int _byteCount;

    private readonly List<Savepoint> _savepoints = [];
    private readonly List<RunningStatement> _statements = [];

    /// <summary>The commit hook ran and the outcome is not yet known.</summary>
    private bool _commitSeen;

    /// <summary>True while the capture runs its own metadata query, whose trace events are not the application's.</summary>
    private bool _inInternalQuery;

    /// <summary>Counts statements (and transaction ends) so that the schema version is read at most once per statement.</summary>
    private long _statementSerial = 1;
    private long _schemaCheckedSerial;
    private long _schemaVersion = long.MinValue;
    private int _metadataGeneration;
    private long _queryResult;

    private int _state;
    private long _changesPublished;
    private long _changesDiscarded;
    private long _rowsSerialized;
    private long _rowsSkipped;
    private long _transactionsCommitted;
    private long _transactionsRolledBack;
    private long _errors;

    internal SqliteChangeCapture(SqliteConnection connection, ChangeNotifier notifier, SqliteChangeCaptureOptions options)
    {
        _connection = connection;
        _notifier = notifier;
        Schema = options.Schema;
        _logger = options.Logger ?? NullLogger.Instance;
        _timeProvider = options.TimeProvider;
        _numericAsString = options.NumericAsString;

        string library = SQLitePCL.raw.GetNativeLibraryName();
        SqliteNative.EnsureLoaded(library);
        _db = connection.Handle?.DangerousGetHandle() ?? throw new InvalidOperationException("The connection has no native handle.");
        if (!s_active.TryAdd(_db, this))
        {
            throw new InvalidOperationException("This connection already has a change capture; dispose it before starting another.");
        }

        _self = GCHandle.Alloc(this);
        nint context = GCHandle.ToIntPtr(_self);
        CheckPrevious(SqliteNative.PreUpdateHook(_db, &OnPreUpdate, context), "pre-update");
        CheckPrevious(SqliteNative.CommitHook(_db, &OnCommit, context), "commit");
        SqliteNative.RollbackHook(_db, &OnRollback, context);
        SqliteNative.TraceV2(_db, SqliteNative.TraceStatement | SqliteNative.TraceProfile, &OnTrace, context);
        connection.StateChange += OnStateChange;
        Log.CaptureStarted(_logger, connection.DataSource, library, Schema);
    }

    /// <summary>Gets the schema name the changes are published under.</summary>
    public string Schema { get; }

    /// <summary>Gets a value indicating whether the hooks are installed (false after <see cref="Dispose"/> or once the connection closed).</summary>
    public bool IsCapturing => Volatile.Read(ref _state) == Capturing;

    /// <summary>Gets how many changes were handed to the notifier and published (watched when their transaction committed).</summary>
    public long ChangesPublished => Volatile.Read(ref _changesPublished);

    /// <summary>Gets how many buffered changes were dropped: rolled back, undone by <c>ROLLBACK TO</c>, or made by a failed statement.</summary>
    public long ChangesDiscarded => Volatile.Read(ref _changesDiscarded);

    /// <summary>Gets how many row changes had their values read and buffered (their table was watched).</summary>
    public long RowsSerialized => Volatile.Read(ref _rowsSerialized);

    /// <summary>Gets how many row changes the hook skipped after the watch check (unwatched, <c>sqlite_*</c> or not in <c>main</c>).</summary>
    public long RowsSkipped => Volatile.Read(ref _rowsSkipped);

    /// <summary>Gets how many write transactions committed on the connection while capturing.</summary>
    public long TransactionsCommitted => Volatile.Read(ref _transactionsCommitted);

    /// <summary>Gets how many transactions that had buffered changes ended without a commit.</summary>
    public long TransactionsRolledBack => Volatile.Read(ref _transactionsRolledBack);

    /// <summary>Gets how many exceptions the native callbacks caught (each is logged when a logger was given).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Stops capturing: removes the hooks from the connection (changes of a transaction still open are not published).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, Stopped) != Capturing)
        {
            return;
        }

        _connection.StateChange -= OnStateChange;
        s_active.TryRemove(new KeyValuePair<nint, SqliteChangeCapture>(_db, this));
        GCHandle self = _self;
        if (_connection.State == ConnectionState.Open && _connection.Handle?.DangerousGetHandle() == _db)
        {
            SqliteNative.PreUpdateHook(_db, null, 0);
            SqliteNative.CommitHook(_db, null, 0);
            SqliteNative.TraceV2(_db, 0, null, 0);
            if (SqliteNative.GetAutocommit(_db) != 0)
            {
                SqliteNative.RollbackHook(_db, null, 0);
                self.Free();
            }
            else
            {
                // Inside a transaction the rollback hook may belong to SqliteTransaction now: leave it alone and make
                // ours, if it is still set, a no-op (the handle outlives us; a freed handle would crash the callback).
                self.Target = null;
            }
        }
        else
        {
            // The native connection may be closed already, or back in the pool with our hooks still set: never touch
            // it; the hooks find no target and return.
            self.Target = null;
        }

        Log.CaptureStopped(_logger, ChangesPublished, TransactionsCommitted);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"SqliteChangeCapture(Schema = {Schema}, Published = {ChangesPublished}, Committed = {TransactionsCommitted}, RolledBack = {TransactionsRolledBack})";

    private void OnStateChange(object sender, StateChangeEventArgs e)
    {
        if (e.CurrentState != ConnectionState.Open)
        {
            Dispose();
        }
    }

    private void CheckPrevious(nint previousContext, string hook)
    {
        if (previousContext != 0)
        {
            Log.HookReplaced(_logger, hook);
        }
    }

    // ---------------------------------------------------------------- native entry points

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPreUpdate(nint context, nint db, int op, byte* databaseName, byte* tableName, long key1, long key2)
    {
        if (Target(context) is SqliteChangeCapture capture)
        {
            capture.HandlePreUpdate(op, databaseName, tableName);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(nint context)
    {
        Target(context)?.HandleCommit();
        return 0; // never veto: a non-zero return would turn the COMMIT into a rollback
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnRollback(nint context) => Target(context)?.HandleRollback();

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnTrace(uint type, nint context, nint p, nint x)
    {
        Target(context)?.HandleTrace(type, p, x);
        return 0;
    }

    private static SqliteChangeCapture? Target(nint context)
    {
        try
        {
            return GCHandle.FromIntPtr(context).Target as SqliteChangeCapture;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    // ---------------------------------------------------------------- pre-update: capture one row

    private void HandlePreUpdate(int op, byte* databaseName, byte* tableName)
    {
        try
        {
            if (_state != Capturing)
            {
                return;
            }

            if (!MemoryMarshal.CreateReadOnlySpanFromNullTerminated(databaseName).SequenceEqual("main"u8))
            {
                _rowsSkipped++;
                return;
            }

            TableState table = GetTableState(tableName);
            // The only per-row work for a table nobody watches: the look-up above and this check.
            if (table.ChangeTable is not { IsWatched: true })
            {
                _rowsSkipped++;
                return;
            }

            ChangeKind kind = op switch
            {
                SqliteNative.OpInsert => ChangeKind.Insert,
                SqliteNative.OpUpdate => ChangeKind.Update,
                SqliteNative.OpDelete => ChangeKind.Delete,
                _ => (ChangeKind)(-1),
            };
            if (kind == (ChangeKind)(-1))
            {
                return;
            }

            CaptureRow(table, kind);
        }
        catch (Exception ex)
        {
            OnCallbackError("pre-update", ex);
        }
    }

    private TableState GetTableState(byte* tableName)
    {
        ReadOnlySpan<byte> name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(tableName);
        // SQLite passes its Table object's name pointer, stable until the schema is reloaded: check it, then the bytes.
        if (_tablesByPointer.TryGetValue((nint)tableName, out TableState? known) && name.SequenceEqual(known.Utf8Name))
        {
            return known;
        }

        string text = Encoding.UTF8.GetString(name);
        if (!_tablesByName.TryGetValue(text, out TableState? table))
        {
            bool isInternal = text.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase);
            table = new TableState(text, name.ToArray(), isInternal ? null : _notifier.GetTable(Schema, text));
            _tablesByName.Add(text, table);
        }

        if (_tablesByPointer.Count >= MaxTablePointers)
        {
            _tablesByPointer.Clear(); // each schema reload brings new name pointers: forget the stale ones
        }

        _tablesByPointer[(nint)tableName] = table;
        return table;
    }

    private void CaptureRow(TableState table, ChangeKind kind)
    {
        int count = SqliteNative.PreUpdateCount(_db);
        TableMetadata metadata = GetMetadata(table, count);
        int valueMark = _valueCount;
        int byteMark = _byteCount;
        try
        {
            int oldStart = -1;
            int newStart = -1;
            if (kind != ChangeKind.Insert)
            {
                oldStart = _valueCount;
                ReadValues(count, old: true);
            }

            if (kind != ChangeKind.Delete)
            {
                newStart = _valueCount;
                ReadValues(count, old: false);
            }

            if (_changeCount == _changes.Length)
            {
                Array.Resize(ref _changes, _changes.Length * 2);
            }

            _changes[_changeCount++] = new PendingChange(table, metadata, kind, oldStart, newStart, count, valueMark, byteMark);
            _rowsSerialized++;
        }
        catch
        {
            _valueCount = valueMark;
            _byteCount = byteMark;
            throw;
        }
    }

    private void ReadValues(int count, bool old)
    {
        if (_valueCount + count > _values.Length)
        {
            Array.Resize(ref _values, Math.Max(_values.Length * 2, _valueCount + count));
        }

        for (int i = 0; i < count; i++)
        {
            nint value;
            int rc = old ? SqliteNative.PreUpdateOld(_db, i, &value) : SqliteNative.PreUpdateNew(_db, i, &value);
            if (rc == SqliteNative.SqliteRange)
            {
                // A VIRTUAL generated column: computed on read, not stored in the row the hook sees.
                _values[_valueCount++] = new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0);
                continue;
            }

            if (rc != SqliteNative.SqliteOk)
            {
                throw new InvalidOperationException($"sqlite3_preupdate_{(old ? "old" : "new")}({i}) failed with SQLite error {rc}.");
            }

            int type = SqliteNative.ValueType(value);
            _values[_valueCount++] = type switch
            {
                SqliteNative.TypeInteger => new CapturedValue(type, SqliteNative.ValueInt64(value), 0, 0, 0),
                SqliteNative.TypeFloat => new CapturedValue(type, 0, SqliteNative.ValueDouble(value), 0, 0),
                // text before bytes: sqlite3_value_bytes then reports the length of that UTF-8 text
                SqliteNative.TypeText => CopyBytes(type, SqliteNative.ValueText(value), SqliteNative.ValueBytes(value)),
                SqliteNative.TypeBlob => CopyBytes(type, SqliteNative.ValueBlob(value), SqliteNative.ValueBytes(value)),
                _ => new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0),
            };
        }
    }

    private CapturedValue CopyBytes(int type, byte* source, int length)
    {
        if (_byteCount + length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _byteCount + length));
        }

        int offset = _byteCount;
        if (length > 0)
        {
            new ReadOnlySpan<byte>(source, length).CopyTo(_bytes.AsSpan(offset));
        }

        _byteCount += length;
        return new CapturedValue(type, 0, 0, offset, length);
    }

    // ---------------------------------------------------------------- column metadata

    private TableMetadata GetMetadata(TableState table, int count)
    {
        // One PRAGMA schema_version per statement that touches a watched table: catches DROP + CREATE with the same
        // column count and schema changes made by other connections. A column-count mismatch is caught per row.
        if (_schemaCheckedSerial != _statementSerial)
        {
            _schemaCheckedSerial = _statementSerial;
            long version = ReadSchemaVersion();
            if (version != _schemaVersion)
            {
                _schemaVersion = version;
                _metadataGeneration++;
            }
        }

        TableMetadata? metadata = table.Metadata;
        if (metadata is not null && table.MetadataGeneration == _metadataGeneration && metadata.Columns.Length == count)
        {
            return metadata;
        }

        (ChangeColumn[] columns, string[] declaredTypes) = ReadColumns(table.Name, count);
        if (metadata is null || !columns.AsSpan().SequenceEqual(metadata.Columns) || !declaredTypes.AsSpan().SequenceEqual(metadata.DeclaredTypes))
        {
            metadata = new TableMetadata(columns, declaredTypes, _numericAsString);
        }

        table.Metadata = metadata;
        table.MetadataGeneration = _metadataGeneration;
        return metadata;
    }

    private long ReadSchemaVersion()
    {
        _queryResult = 0;
        RunInternalQuery("PRAGMA main.schema_version"u8, static (statement, self) => self._queryResult = SqliteNative.ColumnInt64(statement, 0));
        return _queryResult;
    }

    private (ChangeColumn[] Columns, string[] DeclaredTypes) ReadColumns(string tableName, int count)
    {
        // The session extension that ships with SQLite reads table_info from inside its pre-update hook the same way:
        // a read-only query on the connection, inside the transaction that is already open.
        string sql = $"SELECT name, type, pk FROM pragma_table_xinfo('{tableName.Replace("'", "''", StringComparison.Ordinal)}', 'main')";
        var rows = new List<(string Name, string Type, long Pk)>();
        RunInternalQuery(Encoding.UTF8.GetBytes(sql), (statement, _) =>
            rows.Add((SqliteNative.GetString(statement, 0) ?? string.Empty, SqliteNative.GetString(statement, 1) ?? string.Empty, SqliteNative.ColumnInt64(statement, 2))));

        int primaryKeys = 0;
        foreach ((string _, string _, long pk) in rows)
        {
            primaryKeys += pk > 0 ? 1 : 0;
        }

        var columns = new ChangeColumn[count];
        string[] declaredTypes = new string[count];
        for (int i = 0; i < count; i++)
        {
            declaredTypes[i] = i < rows.Count ? rows[i].Type : string.Empty;
            if (i < rows.Count)
            {
                (string name, string type, long pk) = rows[i];
                bool isRowIdAlias = pk > 0 && primaryKeys == 1 && type.Trim().Equals("INTEGER", StringComparison.OrdinalIgnoreCase);
                columns[i] = new ChangeColumn(name, SqliteTypeMapper.ToPostgresType(type, isRowIdAlias));
            }
            else
            {
                columns[i] = new ChangeColumn($"column{i + 1}", "text");
            }
        }

        if (rows.Count != count)
        {
            Log.ColumnCountMismatch(_logger, tableName, rows.Count, count);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.ColumnsRead(_logger, tableName, string.Join(", ", columns.Select(c => $"{c.Name} {c.TypeName}")));
        }

        return (columns, declaredTypes);
    }

    private void RunInternalQuery(ReadOnlySpan<byte> sql, Action<nint, SqliteChangeCapture> onRow)
    {
        _inInternalQuery = true;
        try
        {
            int rc = SqliteNative.Query(_db, sql, this, onRow);
            if (rc != SqliteNative.SqliteDone)
            {
                throw new InvalidOperationException($"The capture's metadata query failed with SQLite error {rc}.");
            }
        }
        finally
        {
            _inInternalQuery = false;
        }
    }

    // ---------------------------------------------------------------- commit, rollback, statement boundaries

    private void HandleCommit()
    {
        try
        {
            if (_state != Capturing)
            {
                return;
            }

            _statementSerial++;
            _commitSeen = true;
            if (_statements.Count == 0)
            {
                // No traced statement is running, so no "statement finished" event will follow this commit (a statement
                // reset before completion commits after its event): this is the last moment the capture sees.
                CompleteCommit();
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("commit", ex);
        }
    }

    private void HandleRollback()
    {
        try
        {
            if (_state == Capturing)
            {
                _statementSerial++;
                DiscardTransaction();
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("rollback", ex);
        }
    }

    private void HandleTrace(uint type, nint statement, nint x)
    {
        try
        {
            if (_state != Capturing || _inInternalQuery)
            {
                return;
            }

            if (type == SqliteNative.TraceStatement)
            {
                OnStatementStarted(statement, (byte*)x);
            }
            else if (type == SqliteNative.TraceProfile)
            {
                OnStatementFinished(statement);
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("trace", ex);
        }
    }

    private void OnStatementStarted(nint statement, byte* sql)
    {
        foreach (RunningStatement running in _statements)
        {
            if (running.Statement == statement)
            {
                return; // a trigger program starting inside the statement reports the same statement again
            }
        }

        if (SqliteNative.GetAutocommit(_db) != 0 && SqliteNative.TxnState(_db, null) == 0)
        {
            // No transaction of any kind is open, so no statement can be running: settle whatever the last one left.
            _statements.Clear();
            if (_commitSeen)
            {
                CompleteCommit();
            }
            else
            {
                DiscardTransaction();
            }

            // Re-arm the rollback hook: SqliteTransaction replaces it while a transaction is open and clears it after.
            SqliteNative.RollbackHook(_db, &OnRollback, GCHandle.ToIntPtr(_self));
        }

        _statementSerial++;
        SavepointCommand command = sql is null ? SavepointCommand.None : SavepointCommand.Parse(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(sql));
        _statements.Add(new RunningStatement(statement, _changeCount, command));
    }

    private void OnStatementFinished(nint statement)
    {
        int index = _statements.Count - 1;
        while (index >= 0 && _statements[index].Statement != statement)
        {
            index--;
        }

        if (index < 0)
        {
            return;
        }

        RunningStatement finished = _statements[index];
        _statements.RemoveAt(index);

        // A statement that fails is undone by SQLite (statement journal) without any hook: it then reports no changes.
        // A statement reset before it ran to completion (INSERT … RETURNING read partly) reports "finished" before it
        // halts, so sqlite3_changes() is not yet its own: keep its changes (DML with RETURNING is done before the first
        // row) and let the commit hook or the transaction's end decide.
        bool halted = SqliteNative.StmtBusy(statement) == 0;
        if (halted && _changeCount > finished.ChangeMark && SqliteNative.Changes64(_db) == 0)
        {
            TruncateTo(finished.ChangeMark);
        }

        ApplySavepointCommand(finished);

        bool writeOpen = SqliteNative.TxnState(_db, null) == SqliteNative.TxnWrite;
        if (_commitSeen)
        {
            if (!writeOpen)
            {
                CompleteCommit();
            }
            else
            {
                _commitSeen = false; // COMMIT returned SQLITE_BUSY: the transaction is still open and may commit later
            }
        }
        else if (!writeOpen && _changeCount > 0 && SqliteNative.GetAutocommit(_db) != 0)
        {
            DiscardTransaction(); // the transaction ended without a commit: ROLLBACK, or rolled back by an error
        }
    }

    private void ApplySavepointCommand(RunningStatement finished)
    {
        switch (finished.Command.Kind)
        {
            case SavepointCommandKind.Savepoint:
                _savepoints.Add(new Savepoint(finished.Command.Name!, finished.ChangeMark));
                break;
            case SavepointCommandKind.Release when FindSavepoint(finished.Command.Name!) is int released and >= 0:
                _savepoints.RemoveRange(released, _savepoints.Count - released);
                break;
            case SavepointCommandKind.RollbackTo when FindSavepoint(finished.Command.Name!) is int target and >= 0:
                // ROLLBACK TO undoes the changes since the savepoint and keeps the savepoint itself open.
                TruncateTo(_savepoints[target].ChangeMark);
                _savepoints.RemoveRange(target + 1, _savepoints.Count - target - 1);
                break;
        }
    }

    private int FindSavepoint(string name)
    {
        for (int i = _savepoints.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_savepoints[i].Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    // ---------------------------------------------------------------- publish and discard

    private void CompleteCommit()
    {
        _commitSeen = false;
        _savepoints.Clear();
        _transactionsCommitted++;
        if (_changeCount == 0)
        {
            return;
        }

        DateTimeOffset? commitTimestamp = _timeProvider?.GetUtcNow();
        try
        {
            for (int i = 0; i < _changeCount; i++)
            {
                try
                {
                    Publish(i, commitTimestamp);
                }
                catch (Exception ex)
                {
                    OnCallbackError("publish", ex); // one bad row must not cost the transaction's other changes
                }
            }
        }
        finally
        {
            ClearBuffer();
        }
    }

    private void Publish(int index, DateTimeOffset? commitTimestamp)
    {
        PendingChange change = _changes[index];
        TableState table = change.Table;
        ChangeTable changeTable = table.ChangeTable!;
        if (!ReferenceEquals(table.PublishedMetadata, change.Metadata) || !ReferenceEquals(changeTable.Columns, table.PublishedColumns))
        {
            changeTable.SetColumns(change.Metadata.Columns);
            table.PublishedMetadata = change.Metadata;
            table.PublishedColumns = changeTable.Columns;
        }

        if (_notifier.Notify(changeTable, change.Kind, new RowRef(this, index), s_writeRow, commitTimestamp) > 0)
        {
            _changesPublished++;
        }
    }

    private void DiscardTransaction()
    {
        _commitSeen = false;
        _savepoints.Clear();
        if (_changeCount > 0)
        {
            _transactionsRolledBack++;
            TruncateTo(0);
        }

        ClearBuffer();
    }

    private void TruncateTo(int mark)
    {
        if (mark >= _changeCount)
        {
            return;
        }

        _changesDiscarded += _changeCount - mark;
        _valueCount = _changes[mark].ValueMark;
        _byteCount = _changes[mark].ByteMark;
        Array.Clear(_changes, mark, _changeCount - mark);
        _changeCount = mark;
    }

    private void ClearBuffer()
    {
        Array.Clear(_changes, 0, _changeCount);
        _changeCount = 0;
        _valueCount = 0;
        _byteCount = 0;
        if (_changes.Length > MaxRetainedChanges)
        {
            _changes = new PendingChange[16];
        }

        if (_values.Length > MaxRetainedValues)
        {
            _values = new CapturedValue[64];
        }

        if (_bytes.Length > MaxRetainedBytes)
        {
            _bytes = new byte[1024];
        }
    }

    private void OnCallbackError(string hook, Exception exception)
    {
        Interlocked.Increment(ref _errors);
        try
        {
            Log.CallbackFailed(_logger, hook, exception);
        }
#pragma warning disable CA1031 // a logger's failure must not escape into native code either
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    // ---------------------------------------------------------------- record JSON

    private static void WriteRow(Utf8JsonWriter writer, RowRef row, RowImage image)
    {
        SqliteChangeCapture capture = row.Capture;
        PendingChange change = capture._changes[row.Index];
        int start = image == RowImage.New ? change.NewStart : change.OldStart;
        if (start < 0)
        {
            return;
        }

        TableMetadata metadata = change.Metadata;
        writer.WriteStartObject();
        for (int i = 0; i < change.ColumnCount; i++)
        {
            CapturedValue value = capture._values[start + i];
            if (metadata.Formats[i] == ColumnFormat.NumericString && value.Type is SqliteNative.TypeInteger or SqliteNative.TypeFloat)
            {
                WriteNumericString(writer, metadata.Names[i], metadata.NumericFormats[i], value);
            }
            else
            {
                WriteValue(writer, metadata.Names[i], metadata.Formats[i], value, capture._bytes);
            }
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonEncodedText name, ColumnFormat format, CapturedValue value, byte[] bytes)
    {
        switch (value.Type)
        {
            case SqliteNative.TypeInteger when format == ColumnFormat.Boolean:
                writer.WriteBoolean(name, value.Integer != 0);
                break;
            case SqliteNative.TypeInteger:
                writer.WriteNumber(name, value.Integer);
                break;
            case SqliteNative.TypeFloat when format == ColumnFormat.Boolean:
                writer.WriteBoolean(name, value.Real != 0);
                break;
            case SqliteNative.TypeFloat when double.IsFinite(value.Real):
                writer.WriteNumber(name, value.Real);
                break;
            case SqliteNative.TypeFloat:
                // JSON has no infinities; PostgreSQL's to_json writes them as these strings (SQLite stores NaN as NULL).
                writer.WriteString(name, value.Real > 0 ? "Infinity" : "-Infinity");
                break;
            case SqliteNative.TypeText:
                ReadOnlySpan<byte> text = bytes.AsSpan(value.Offset, value.Length);
                if (format == ColumnFormat.Json && IsJsonValue(text))
                {
                    writer.WritePropertyName(name);
                    writer.WriteRawValue(text, skipInputValidation: true);
                }
                else if (Utf8.IsValid(text))
                {
                    writer.WriteString(name, text);
                }
                else
                {
                    writer.WriteString(name, Encoding.UTF8.GetString(text)); // invalid sequences become U+FFFD
                }

                break;
            case SqliteNative.TypeBlob:
                // PostgreSQL's bytea text form: \x followed by lower-case hex.
                writer.WriteString(name, string.Concat("\\x", Convert.ToHexStringLower(bytes, value.Offset, value.Length)));
                break;
            default:
                writer.WriteNull(name);
                break;
        }
    }

    private static void WriteNumericString(Utf8JsonWriter writer, JsonEncodedText name, string format, CapturedValue value)
    {
        if (value.Type == SqliteNative.TypeFloat && !double.IsFinite(value.Real))
        {
            writer.WriteString(name, value.Real > 0 ? "Infinity" : "-Infinity");
            return;
        }

        Span<byte> text = stackalloc byte[128];
        string? integerFormat = format == "R" ? null : format; // "R" is for doubles; an integer's plain form is already exact
        bool formatted = value.Type == SqliteNative.TypeInteger
            ? value.Integer.TryFormat(text, out int written, integerFormat, CultureInfo.InvariantCulture)
            : value.Real.TryFormat(text, out written, format, CultureInfo.InvariantCulture);
        if (formatted)
        {
            writer.WriteString(name, text[..written]);
        }
        else
        {
            // longer than the stack buffer (a huge value with a large scale)
            writer.WriteString(name, value.Type == SqliteNative.TypeInteger
                ? value.Integer.ToString(integerFormat, CultureInfo.InvariantCulture)
                : value.Real.ToString(format, CultureInfo.InvariantCulture));
        }
    }

    private static bool IsJsonValue(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(text);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

