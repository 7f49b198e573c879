using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
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
/// SQL issued it (multi-row statements, <c>INSERT … SELECT</c>, upserts, changes made by triggers, also INSTEAD OF
/// triggers of views), through SQLite's pre-update hook, which sees each row with its before and after images. Tables
/// named <c>sqlite_*</c> and the shadow tables of virtual tables are skipped. When nobody watches a table
/// (<see cref="ChangeTable.IsWatched"/>), the hook stops after that check: no value is read and nothing is buffered
/// (<see cref="RowsSkipped"/> counts those rows, <see cref="RowsSerialized"/> the others).
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
/// <b>What is dropped.</b> Only what SQLite undid. A transaction that ends without a commit (ROLLBACK, an error, a
/// rollback by SQLite) drops its changes; it is seen through the rollback hook and, because <see cref="SqliteTransaction"/>
/// takes over that hook while it is open, also from the transaction state when a statement finishes. A statement that
/// fails inside a transaction with ABORT (the default, and <c>RAISE(ABORT)</c>) is undone by SQLite back to where it
/// began, without any hook: when a statement that can write halts, the capture takes a non-zero <c>sqlite3_changes()</c>
/// of that DML statement as proof that it stood, and otherwise reads the last buffered change back from the table (by
/// rowid, or primary key for WITHOUT ROWID tables). So OR FAIL keeps its earlier rows, and the writes of BEFORE and
/// INSTEAD OF triggers stand when the row itself is ignored (<c>INSERT OR IGNORE</c>, <c>DO NOTHING</c>,
/// <c>RAISE(IGNORE)</c>). Read-only statements (an open <see cref="SqliteDataReader"/>) never drop anything. Savepoints
/// are tracked from the statement text, following SQLite's rules (names match with ASCII-only case folding, a RELEASE
/// SQLite refused changes nothing): <c>ROLLBACK TO x</c> drops the changes made since <c>SAVEPOINT x</c> and keeps the
/// earlier ones; <c>RELEASE x</c> keeps them all. Any rollback, ROLLBACK TO or DDL statement makes the capture re-read
/// column metadata, as SQLite reuses the schema version numbers a rollback gave back.
/// </para>
/// <para>
/// <b>What is reported lost.</b> A committed change that cannot be published whole is never skipped silently: every reader
/// that watches its table and kind counts it as missed (<see cref="ChangesLost"/>). That covers a row whose record cannot
/// be built, a transaction whose images exceed <see cref="SqliteChangeCaptureOptions.MaxBufferedBytes"/> (one lost marker
/// per table and kind it changed; none of its rows is published), and writes through <c>sqlite3_blob_write</c>
/// (<see cref="SqliteBlob"/>) that commit in autocommit mode. SQLite reports a blob write as a DELETE of a row that stays,
/// without the new bytes: it is never published as a DELETE. Inside a transaction the row is read back before the next
/// statement (the COMMIT at the latest) and published as an UPDATE with its old and new images; in autocommit mode the
/// commit comes when the blob is closed, where no query may run, so it is reported as lost.
/// </para>
/// <para>
/// <b>Known limits.</b> A COMMIT issued by <see cref="SqliteTransaction.Commit"/>
/// that passes the commit hook and then fails with an I/O error is published (that method clears the rollback hook
/// before committing, so the failure is invisible). A statement reset before it ran to completion (for example an
/// <c>INSERT … RETURNING</c> read with <c>ExecuteScalar</c> in autocommit mode) commits after its "finished" event; that
/// commit is published from the commit hook itself. Changes captured before a subscription started are published only if
/// the table was watched when the row changed. Start the capture outside a transaction (it throws otherwise). The
/// capture owns the connection's pre-update, commit and trace hooks (and the rollback hook outside transactions): do not
/// set them elsewhere. Not captured: tables in attached or temp databases, virtual tables, the rows
/// <c>CREATE TABLE … AS SELECT</c> writes (SQLite does not call the pre-update hook for them), pages written by a backup,
/// restore or <c>sqlite3_deserialize</c> into the connection, and the rows a DROP TABLE removes unless foreign keys are on
/// (then SQLite deletes them first and each is published as a DELETE). VIRTUAL generated columns are reported as
/// <c>null</c> (they are not stored in the row). Dispose the capture before closing the connection: closing stops the
/// capture but cannot remove the hooks from a native connection that went back to the pool (they then do nothing). The
/// package README has the costs of watched large rows and statements.
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

    /// <summary>
    /// The hooks' context values: a number per capture, looked up here, rather than a GCHandle. Hooks left on a pooled
    /// or closed native connection then find nothing and return, and nothing has to be freed later (a GCHandle that a
    /// stale hook may still pass back could never be freed).
    /// </summary>
    private static readonly ConcurrentDictionary<nint, SqliteChangeCapture> s_contexts = new();

    /// <summary>
    /// Context numbers start here (an unlikely pointer value) and only grow, so that a hook left by an earlier capture of
    /// this package is recognised as ours (no "replaced by other code" warning).
    /// </summary>
    private const long FirstContext = 0x4E48_0000;

    private static long s_lastContext = FirstContext;

    private static readonly ChangeRowWriter<RowRef> s_writeRow = WriteRow;

    /// <summary>SQLite's names for the rowid; a column may take one, never all three.</summary>
    private static readonly string[] s_rowIdNames = ["rowid", "_rowid_", "oid"];

    private const int Capturing = 0;
    private const int Stopped = 1;

    /// <summary>The <see cref="CapturedValue.Type"/> of a VIRTUAL generated column, which the row does not store (written as null).</summary>
    private const int NotStored = 0;

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
    private readonly nint _context;
    private readonly long _maxBufferedBytes;

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

    /// <summary>
    /// Set once the transaction's images outgrew <see cref="SqliteChangeCaptureOptions.MaxBufferedBytes"/>: the buffer was
    /// dropped and only which tables and kinds changed is kept, in <see cref="_lost"/>, to report as lost at commit.
    /// </summary>
    private bool _overflowed;
    private readonly List<(TableState Table, ChangeKind Kind)> _lost = [];

    /// <summary>The buffered change a statement-outcome look-up compares with the table, and what it found.</summary>
    private PendingChange _lookup;
    private bool _lookupFound;
    private bool _lookupMatches;

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
    private long _changesLost;

    internal SqliteChangeCapture(SqliteConnection connection, ChangeNotifier notifier, SqliteChangeCaptureOptions options)
    {
        _connection = connection;
        _notifier = notifier;
        Schema = options.Schema;
        _logger = options.Logger ?? NullLogger.Instance;
        _timeProvider = options.TimeProvider;
        _numericAsString = options.NumericAsString;
        _maxBufferedBytes = options.MaxBufferedBytes;

        string library = SQLitePCL.raw.GetNativeLibraryName();
        SqliteNative.EnsureLoaded(library);
        _db = connection.Handle?.DangerousGetHandle() ?? throw new InvalidOperationException("The connection has no native handle.");
        if (SqliteNative.GetAutocommit(_db) == 0)
        {
            // Started mid-transaction, the capture would miss the changes (and savepoints) made before it and could not
            // tell what a ROLLBACK TO undoes; it would also take over the rollback hook a SqliteTransaction relies on.
            throw new InvalidOperationException("The connection has an open transaction; call CaptureChanges before BEGIN (or after the transaction ends).");
        }

        if (!s_active.TryAdd(_db, this))
        {
            throw new InvalidOperationException("This connection already has a change capture; dispose it before starting another.");
        }

        _context = (nint)Interlocked.Increment(ref s_lastContext);
        s_contexts[_context] = this;
        CheckPrevious(SqliteNative.PreUpdateHook(_db, &OnPreUpdate, _context), "pre-update");
        CheckPrevious(SqliteNative.CommitHook(_db, &OnCommit, _context), "commit");
        SqliteNative.RollbackHook(_db, &OnRollback, _context);
        SqliteNative.TraceV2(_db, SqliteNative.TraceStatement | SqliteNative.TraceProfile, &OnTrace, _context);
        connection.StateChange += OnStateChange;
        Log.CaptureStarted(_logger, connection.DataSource, library, Schema);
    }

    /// <summary>Gets the schema name the changes are published under.</summary>
    public string Schema { get; }

    /// <summary>Gets a value indicating whether the hooks are installed (false after <see cref="Dispose"/> or once the connection closed).</summary>
    public bool IsCapturing => Volatile.Read(ref _state) == Capturing;

    /// <summary>Gets how many changes were handed to the notifier and published (watched when their transaction committed).</summary>
    public long ChangesPublished => Volatile.Read(ref _changesPublished);

    /// <summary>Gets how many buffered changes were dropped: rolled back, undone by <c>ROLLBACK TO</c>, or undone with a failed statement.</summary>
    public long ChangesDiscarded => Volatile.Read(ref _changesDiscarded);

    /// <summary>Gets how many row changes had their values read and buffered (their table was watched).</summary>
    public long RowsSerialized => Volatile.Read(ref _rowsSerialized);

    /// <summary>Gets how many row changes the hook skipped after the watch check (unwatched, <c>sqlite_*</c>, shadow tables, not in <c>main</c>, or the notifier completed).</summary>
    public long RowsSkipped => Volatile.Read(ref _rowsSkipped);

    /// <summary>Gets how many write transactions committed on the connection while capturing.</summary>
    public long TransactionsCommitted => Volatile.Read(ref _transactionsCommitted);

    /// <summary>Gets how many transactions that had buffered changes ended without a commit.</summary>
    public long TransactionsRolledBack => Volatile.Read(ref _transactionsRolledBack);

    /// <summary>Gets how many exceptions the native callbacks caught (each is logged when a logger was given).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>
    /// Gets how many committed changes of watched tables could not be published whole and were reported to readers as lost instead
    /// (<see cref="ChangeNotifier.NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>): blob writes through <c>sqlite3_blob_write</c> committed in
    /// autocommit mode, rows whose record could not be built, and the tables and kinds of a transaction larger than
    /// <see cref="SqliteChangeCaptureOptions.MaxBufferedBytes"/>.
    /// </summary>
    public long ChangesLost => Volatile.Read(ref _changesLost);

    /// <summary>Stops capturing: removes the hooks from the connection (changes of a transaction still open are not published).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, Stopped) != Capturing)
        {
            return;
        }

        _connection.StateChange -= OnStateChange;
        s_active.TryRemove(new KeyValuePair<nint, SqliteChangeCapture>(_db, this));
        // From here on every hook that still carries our context finds no capture and returns.
        s_contexts.TryRemove(new KeyValuePair<nint, SqliteChangeCapture>(_context, this));
        if (_connection.State == ConnectionState.Open && _connection.Handle?.DangerousGetHandle() == _db)
        {
            SqliteNative.PreUpdateHook(_db, null, 0);
            SqliteNative.CommitHook(_db, null, 0);
            SqliteNative.TraceV2(_db, 0, null, 0);
            if (SqliteNative.GetAutocommit(_db) != 0)
            {
                // Inside a transaction the rollback hook may belong to SqliteTransaction now: leave it alone.
                SqliteNative.RollbackHook(_db, null, 0);
            }
        }

        // Otherwise the native connection may be closed already, or back in the pool with our hooks still set: never
        // touch it; the hooks find no capture and return.

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
        // A context of an earlier capture of this package (stale hooks on a pooled native connection) is not "other code".
        bool ours = previousContext > FirstContext && previousContext <= (nint)Volatile.Read(ref s_lastContext);
        if (previousContext != 0 && !ours)
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
            capture.HandlePreUpdate(op, databaseName, tableName, op == SqliteNative.OpDelete ? key1 : key2);
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

    private static SqliteChangeCapture? Target(nint context) => s_contexts.TryGetValue(context, out SqliteChangeCapture? capture) ? capture : null;

    // ---------------------------------------------------------------- pre-update: capture one row

    private void HandlePreUpdate(int op, byte* databaseName, byte* tableName, long rowId)
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
            // The only per-row work for a table nobody watches: the look-up above and this check. A completed notifier
            // publishes nothing more, so nothing is read for it either, even while readers are still registered.
            if (table.ChangeTable is not { IsWatched: true } || _notifier.IsCompleted)
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

            if (kind == ChangeKind.Delete && SqliteNative.PreUpdateBlobWrite(_db) >= 0)
            {
                CaptureBlobWrite(table, rowId);
                return;
            }

            CaptureRow(table, kind, rowId);
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
            // sqlite_* tables are SQLite's own; shadow tables hold a virtual table's data (FTS5, R-Tree) in an internal
            // format: neither is a change of application data.
            bool isInternal = text.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase) || IsShadowTable(text);
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

    private void CaptureRow(TableState table, ChangeKind kind, long rowId)
    {
        if (_overflowed)
        {
            AddLost(table, kind); // the transaction is past the buffer limit: only remember what to report
            return;
        }

        int count = SqliteNative.PreUpdateCount(_db);
        TableMetadata metadata = GetMetadata(table, count);
        int valueMark = _valueCount;
        int byteMark = _byteCount;
        try
        {
            int oldStart = -1;
            int newStart = -1;
            bool buffered = true;
            if (kind != ChangeKind.Insert)
            {
                oldStart = _valueCount;
                buffered = ReadValues(count, old: true);
            }

            if (buffered && kind != ChangeKind.Delete)
            {
                newStart = _valueCount;
                buffered = ReadValues(count, old: false);
            }

            if (!buffered)
            {
                _valueCount = valueMark;
                _byteCount = byteMark;
                Overflow(table, kind);
                return;
            }

            BufferChange(new PendingChange(table, metadata, kind, oldStart, newStart, count, valueMark, byteMark, rowId, Lost: false));
            _rowsSerialized++;
        }
        catch
        {
            _valueCount = valueMark;
            _byteCount = byteMark;
            throw;
        }
    }

    /// <summary>
    /// A <c>sqlite3_blob_write</c> (SqliteBlob): SQLite reports it as a DELETE of the row, which stays, before the bytes
    /// are written, and does not say which ones. It is buffered as an UPDATE with the old image and no new one; the new
    /// image is read from the table at the next moment SQLite allows a query (the next blob write to another row, or the
    /// next statement, such as the COMMIT of the transaction). A blob write that commits before that (in autocommit mode
    /// the commit comes from closing the blob, where no query may run) is reported to readers as lost. A stream written
    /// in chunks calls the hook per chunk: consecutive writes to one row are one change.
    /// </summary>
    private void CaptureBlobWrite(TableState table, long rowId)
    {
        if (_changeCount > 0 && _changes[_changeCount - 1] is { Lost: true } previous && previous.Table == table && previous.RowId == rowId)
        {
            return;
        }

        ResolveBlobWrite(); // the previous row's blob is written by now
        if (_overflowed)
        {
            AddLost(table, ChangeKind.Update);
            return;
        }

        int count = SqliteNative.PreUpdateCount(_db);
        TableMetadata metadata = GetMetadata(table, count);
        int valueMark = _valueCount;
        int byteMark = _byteCount;
        if (!ReadValues(count, old: true))
        {
            _valueCount = valueMark;
            _byteCount = byteMark;
            Overflow(table, ChangeKind.Update);
            return;
        }

        BufferChange(new PendingChange(table, metadata, ChangeKind.Update, valueMark, -1, count, valueMark, byteMark, rowId, Lost: true));
        _rowsSerialized++;
    }

    /// <summary>Reads the new image of a buffered blob write (the last buffered change) from the table, making it a whole UPDATE.</summary>
    private void ResolveBlobWrite()
    {
        if (_changeCount == 0 || _changes[_changeCount - 1] is not { Lost: true } change || change.Metadata.LookupSql is not byte[] sql)
        {
            return;
        }

        int valueMark = _valueCount;
        int byteMark = _byteCount;
        _lookup = change;
        _lookupFound = false;
        _lookupMatches = true; // becomes false if a value does not fit the buffer
        try
        {
            RunInternalQuery(sql, static (statement, self) => self.CopyLookupRow(statement), static (statement, self) => self.BindLookupKey(statement));
        }
        catch (InvalidOperationException)
        {
            _lookupFound = false;
        }
        finally
        {
            _lookup = default;
        }

        if (!_lookupFound || !_lookupMatches || _valueCount - valueMark != change.ColumnCount)
        {
            _valueCount = valueMark; // stays lost: reported as such at commit
            _byteCount = byteMark;
            return;
        }

        _changes[_changeCount - 1] = change with { NewStart = valueMark, Lost = false };
    }

    private void CopyLookupRow(nint statement)
    {
        PendingChange change = _lookup;
        if (_lookupFound || SqliteNative.ColumnCount(statement) != change.ColumnCount || BufferedBytes(0, change.ColumnCount) > _maxBufferedBytes
            || !TryGrow(ref _values, (long)_valueCount + change.ColumnCount))
        {
            _lookupMatches = false;
            return;
        }

        _lookupFound = true;
        for (int i = 0; i < change.ColumnCount && _lookupMatches; i++)
        {
            int type = SqliteNative.ColumnType(statement, i);
            CapturedValue value = default;
            if (_values[change.OldStart + i].Type == NotStored)
            {
                value = new CapturedValue(NotStored, 0, 0, 0, 0); // as the hook reports it: not part of the row
            }
            else if (type == SqliteNative.TypeInteger)
            {
                value = new CapturedValue(type, SqliteNative.ColumnInt64(statement, i), 0, 0, 0);
            }
            else if (type == SqliteNative.TypeFloat)
            {
                value = new CapturedValue(type, 0, SqliteNative.ColumnDouble(statement, i), 0, 0);
            }
            else if (type is SqliteNative.TypeText or SqliteNative.TypeBlob)
            {
                byte* source = type == SqliteNative.TypeText ? SqliteNative.ColumnText(statement, i) : SqliteNative.ColumnBlob(statement, i);
                _lookupMatches = TryCopyBytes(type, source, SqliteNative.ColumnBytes(statement, i), out value);
            }
            else
            {
                value = new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0);
            }

            _values[_valueCount++] = value;
        }
    }

    private void BufferChange(PendingChange change)
    {
        if (_overflowed)
        {
            AddLost(change.Table, change.Kind);
            return;
        }

        if (!TryGrow(ref _changes, _changeCount + 1L))
        {
            Overflow(change.Table, change.Kind);
            return;
        }

        _changes[_changeCount++] = change;
    }

    /// <summary>
    /// The transaction cannot be buffered whole: drop every buffered image (their memory is released now) and keep only
    /// which tables and kinds changed, to report them as lost if the transaction commits. Publishing the part that fit
    /// would hand readers a transaction with rows silently missing.
    /// </summary>
    private void Overflow(TableState table, ChangeKind kind)
    {
        for (int i = 0; i < _changeCount; i++)
        {
            AddLost(_changes[i].Table, _changes[i].Kind);
        }

        AddLost(table, kind);
        _overflowed = true;
        _changeCount = 0;
        _valueCount = 0;
        _byteCount = 0;
        _changes = new PendingChange[16];
        _values = new CapturedValue[64];
        _bytes = new byte[1024];
        Log.TransactionTooLarge(_logger, _maxBufferedBytes);
    }

    private void AddLost(TableState table, ChangeKind kind)
    {
        if (!_lost.Contains((table, kind)))
        {
            _lost.Add((table, kind));
        }
    }

    /// <summary>Grows <paramref name="array"/> to hold <paramref name="needed"/> elements: doubling (64-bit arithmetic), never past <see cref="Array.MaxLength"/>.</summary>
    /// <returns><see langword="false"/> when that many elements cannot be held in one array (or the memory is not there).</returns>
    private static bool TryGrow<T>(ref T[] array, long needed)
    {
        if (needed <= array.Length)
        {
            return true;
        }

        if (needed > Array.MaxLength)
        {
            return false;
        }

        long size = Math.Min(Math.Max(array.LongLength * 2, needed), Array.MaxLength);
        try
        {
            Array.Resize(ref array, (int)size);
            return true;
        }
        catch (OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>What the buffered images take: the byte arena plus the value slots.</summary>
    private long BufferedBytes(long extraBytes, long extraValues) =>
        _byteCount + extraBytes + ((_valueCount + extraValues) * Unsafe.SizeOf<CapturedValue>());

    private bool ReadValues(int count, bool old)
    {
        if (BufferedBytes(0, count) > _maxBufferedBytes || !TryGrow(ref _values, (long)_valueCount + count))
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            nint value;
            int rc = old ? SqliteNative.PreUpdateOld(_db, i, &value) : SqliteNative.PreUpdateNew(_db, i, &value);
            if (rc == SqliteNative.SqliteRange)
            {
                // A VIRTUAL generated column: computed on read, not stored in the row the hook sees (written as null).
                _values[_valueCount++] = new CapturedValue(NotStored, 0, 0, 0, 0);
                continue;
            }

            if (rc != SqliteNative.SqliteOk)
            {
                throw new InvalidOperationException($"sqlite3_preupdate_{(old ? "old" : "new")}({i}) failed with SQLite error {rc}.");
            }

            int type = SqliteNative.ValueType(value);
            CapturedValue captured;
            switch (type)
            {
                case SqliteNative.TypeInteger:
                    captured = new CapturedValue(type, SqliteNative.ValueInt64(value), 0, 0, 0);
                    break;
                case SqliteNative.TypeFloat:
                    captured = new CapturedValue(type, 0, SqliteNative.ValueDouble(value), 0, 0);
                    break;
                case SqliteNative.TypeText:
                case SqliteNative.TypeBlob:
                    // text before bytes: sqlite3_value_bytes then reports the length of that UTF-8 text
                    byte* source = type == SqliteNative.TypeText ? SqliteNative.ValueText(value) : SqliteNative.ValueBlob(value);
                    if (!TryCopyBytes(type, source, SqliteNative.ValueBytes(value), out captured))
                    {
                        return false;
                    }

                    break;
                default:
                    captured = new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0);
                    break;
            }

            _values[_valueCount++] = captured;
        }

        return true;
    }

    private bool TryCopyBytes(int type, byte* source, int length, out CapturedValue value)
    {
        value = default;
        if (BufferedBytes(length, 0) > _maxBufferedBytes || !TryGrow(ref _bytes, (long)_byteCount + length))
        {
            return false;
        }

        int offset = _byteCount;
        if (length > 0)
        {
            new ReadOnlySpan<byte>(source, length).CopyTo(_bytes.AsSpan(offset));
        }

        _byteCount += length;
        value = new CapturedValue(type, 0, 0, offset, length);
        return true;
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

        ResolveBlobWrite();

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
            SqliteNative.RollbackHook(_db, &OnRollback, _context);
        }

        _statementSerial++;
        ReadOnlySpan<byte> text = sql is null ? default : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(sql);
        _statements.Add(new RunningStatement(
            statement,
            _changeCount,
            SavepointCommand.Parse(text),
            StatementText.Classify(text),
            ReadOnly: SqliteNative.StmtReadonly(statement) != 0,
            StartedInAutocommit: SqliteNative.GetAutocommit(_db) != 0));
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

        // A statement reset before it ran to completion (INSERT … RETURNING read partly) reports "finished" before it
        // halts: its changes stand (DML with RETURNING is done before the first row), and the commit hook or the
        // transaction's end decides. A halted statement that wrote may have failed; SQLite then undid, through its
        // statement savepoint, everything written since it began, without any hook. Autocommit needs no check: there
        // the commit hook or the end of the transaction tells.
        bool halted = SqliteNative.StmtBusy(statement) == 0;
        bool writeOpen = SqliteNative.TxnState(_db, null) == SqliteNative.TxnWrite;
        if (halted && !finished.ReadOnly && !_commitSeen && writeOpen && _changeCount > finished.ChangeMark && WasUndone(finished))
        {
            TruncateTo(finished.ChangeMark);
            InvalidateMetadata();
        }

        if (finished.Kind == StatementKind.Ddl)
        {
            InvalidateMetadata();
        }

        ApplySavepointCommand(finished);

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
        else if (!writeOpen && (_changeCount > 0 || _overflowed) && SqliteNative.GetAutocommit(_db) != 0)
        {
            DiscardTransaction(); // the transaction ended without a commit: ROLLBACK, or rolled back by an error
        }
    }

    /// <summary>
    /// Decides whether SQLite undid what was written since <paramref name="finished"/> began (it failed with ABORT, the
    /// default conflict action, or RAISE(ABORT)). Never from another statement's numbers: <c>sqlite3_changes()</c> is
    /// used only for a DML statement, which sets it when it halts, and only when it is not zero (a statement SQLite
    /// undid sets 0; so do an INSTEAD OF trigger's view, INSERT OR IGNORE and DO NOTHING, while their triggers' writes
    /// stand). Otherwise the last buffered change is read back from the table: it stands exactly when the statement
    /// (whose savepoint covers it) was not undone.
    /// </summary>
    private bool WasUndone(RunningStatement finished)
    {
        if (finished.Kind == StatementKind.Dml && SqliteNative.Changes64(_db) > 0)
        {
            return false;
        }

        return !LastChangeStands();
    }

    /// <summary>
    /// Reads the row of the last buffered change back: an INSERT or UPDATE stands when the row holds its new image, a
    /// DELETE when the row is gone. A change that cannot be checked (no key known, the table is gone) is kept.
    /// </summary>
    private bool LastChangeStands()
    {
        PendingChange last = _changes[_changeCount - 1];
        if (last.Lost || last.Metadata.LookupSql is not byte[] sql)
        {
            return true;
        }

        _lookup = last;
        _lookupFound = false;
        _lookupMatches = false;
        try
        {
            RunInternalQuery(sql, static (statement, self) => self.CompareLookupRow(statement), static (statement, self) => self.BindLookupKey(statement));
        }
        catch (InvalidOperationException)
        {
            return true; // the table cannot be read (dropped by the statement, say): nothing to compare with
        }
        finally
        {
            _lookup = default;
        }

        return last.Kind == ChangeKind.Delete ? !_lookupFound : _lookupFound && _lookupMatches;
    }

    private int BindLookupKey(nint statement)
    {
        PendingChange change = _lookup;
        if (change.Metadata.LookupKey is not int[] key)
        {
            return SqliteNative.BindInt64(statement, 1, change.RowId);
        }

        int start = change.Kind == ChangeKind.Delete ? change.OldStart : change.NewStart;
        for (int k = 0; k < key.Length; k++)
        {
            CapturedValue value = _values[start + key[k]];
            int rc;
            fixed (byte* bytes = _bytes)
            {
                rc = value.Type switch
                {
                    SqliteNative.TypeInteger => SqliteNative.BindInt64(statement, k + 1, value.Integer),
                    SqliteNative.TypeFloat => SqliteNative.BindDouble(statement, k + 1, value.Real),
                    SqliteNative.TypeText => SqliteNative.BindText(statement, k + 1, bytes + value.Offset, value.Length, SqliteNative.Transient),
                    SqliteNative.TypeBlob => SqliteNative.BindBlob(statement, k + 1, bytes + value.Offset, value.Length, SqliteNative.Transient),
                    _ => SqliteNative.SqliteOk, // unbound parameters are NULL
                };
            }

            if (rc != SqliteNative.SqliteOk)
            {
                return rc;
            }
        }

        return SqliteNative.SqliteOk;
    }

    private void CompareLookupRow(nint statement)
    {
        _lookupFound = true;
        PendingChange change = _lookup;
        if (change.Kind == ChangeKind.Delete)
        {
            return;
        }

        _lookupMatches = SqliteNative.ColumnCount(statement) == change.ColumnCount;
        for (int i = 0; i < change.ColumnCount && _lookupMatches; i++)
        {
            _lookupMatches = ColumnEquals(statement, i, _values[change.NewStart + i]);
        }
    }

    private bool ColumnEquals(nint statement, int column, CapturedValue value)
    {
        int type = SqliteNative.ColumnType(statement, column);
        switch (value.Type)
        {
            case NotStored:
                return true; // a VIRTUAL generated column: computed, not part of the change
            case SqliteNative.TypeInteger or SqliteNative.TypeFloat when type is SqliteNative.TypeInteger or SqliteNative.TypeFloat:
                // REAL affinity may hand the hook 1.0 as the integer 1; reading the column gives 1.0 back
                return value.Type == SqliteNative.TypeInteger && type == SqliteNative.TypeInteger
                    ? SqliteNative.ColumnInt64(statement, column) == value.Integer
                    : SqliteNative.ColumnDouble(statement, column) == (value.Type == SqliteNative.TypeInteger ? value.Integer : value.Real);
            case SqliteNative.TypeText when type == SqliteNative.TypeText:
                byte* text = SqliteNative.ColumnText(statement, column);
                return new ReadOnlySpan<byte>(text, SqliteNative.ColumnBytes(statement, column)).SequenceEqual(_bytes.AsSpan(value.Offset, value.Length));
            case SqliteNative.TypeBlob when type == SqliteNative.TypeBlob:
                byte* blob = SqliteNative.ColumnBlob(statement, column);
                return new ReadOnlySpan<byte>(blob, SqliteNative.ColumnBytes(statement, column)).SequenceEqual(_bytes.AsSpan(value.Offset, value.Length));
            case SqliteNative.TypeNull:
                return type == SqliteNative.TypeNull;
            default:
                return false;
        }
    }

    /// <summary>
    /// Applies a savepoint statement to the capture's stack only where SQLite's changed: SQLite reports no savepoint
    /// outcome, so the rules SQLite applies are followed (names compared with ASCII-only case folding, RELEASE refused
    /// while a write statement is in progress, the transaction's savepoint released only by a commit).
    /// </summary>
    private void ApplySavepointCommand(RunningStatement finished)
    {
        SavepointCommand command = finished.Command;
        switch (command.Kind)
        {
            case SavepointCommandKind.Savepoint:
                bool opensTransaction = finished.StartedInAutocommit;
                if (!opensTransaction || SqliteNative.GetAutocommit(_db) == 0)
                {
                    // (outside a transaction SAVEPOINT begins one; if the transaction is not open after it, it failed)
                    _savepoints.Add(new Savepoint(command.Name!, finished.ChangeMark, opensTransaction));
                }

                break;
            case SavepointCommandKind.Release when FindSavepoint(command.Name!) is int released and >= 0:
                if (_savepoints[released].IsTransaction)
                {
                    // Releasing the savepoint that opened the transaction commits it; a failed commit (a deferred
                    // foreign key, SQLITE_BUSY) leaves the transaction and every savepoint open.
                    if (SqliteNative.GetAutocommit(_db) != 0)
                    {
                        _savepoints.Clear();
                    }
                }
                else if (!WriteStatementInProgress())
                {
                    _savepoints.RemoveRange(released, _savepoints.Count - released);
                }

                break;
            case SavepointCommandKind.RollbackTo when FindSavepoint(command.Name!) is int target and >= 0:
                // ROLLBACK TO undoes the changes since the savepoint and keeps the savepoint itself open.
                TruncateTo(_savepoints[target].ChangeMark);
                _savepoints.RemoveRange(target + 1, _savepoints.Count - target - 1);
                InvalidateMetadata();
                break;
        }

        // A RELEASE or ROLLBACK TO of a name the capture does not know fails in SQLite too ("no such savepoint"): the
        // capture starts only outside a transaction and sees every savepoint statement, so its stack is SQLite's.
    }

    /// <summary>SQLite refuses RELEASE while a write statement is still running (<c>db->nVdbeWrite</c> &gt; 0).</summary>
    private bool WriteStatementInProgress()
    {
        foreach (RunningStatement running in _statements)
        {
            if (!running.ReadOnly && SqliteNative.StmtBusy(running.Statement) != 0)
            {
                return true;
            }
        }

        return false;
    }

    private int FindSavepoint(string name)
    {
        for (int i = _savepoints.Count - 1; i >= 0; i--)
        {
            if (SavepointCommand.NamesEqual(_savepoints[i].Name, name))
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
        if (_changeCount == 0 && _lost.Count == 0)
        {
            _overflowed = false;
            return;
        }

        DateTimeOffset? commitTimestamp = _timeProvider?.GetUtcNow();
        try
        {
            for (int i = 0; i < _changeCount; i++)
            {
                PendingChange change = _changes[i];
                if (change.Lost)
                {
                    ReportLost(change.Table, change.Kind, commitTimestamp);
                    continue;
                }

                try
                {
                    Publish(i, commitTimestamp);
                }
                catch (Exception ex)
                {
                    // One row that cannot be written (a value too large for a record, say) must not cost the
                    // transaction's other changes, and must not vanish either: readers are told they missed it.
                    OnCallbackError("publish", ex);
                    ReportLost(change.Table, change.Kind, commitTimestamp);
                }
            }

            foreach ((TableState table, ChangeKind kind) in _lost)
            {
                ReportLost(table, kind, commitTimestamp);
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

    /// <summary>Tells every reader that watches the table and kind that it missed one committed change (no event is published for it).</summary>
    private void ReportLost(TableState table, ChangeKind kind, DateTimeOffset? commitTimestamp)
    {
        if (table.ChangeTable is ChangeTable changeTable)
        {
            Log.ChangeLost(_logger, table.Name, kind);
            if (_notifier.NotifyLost(changeTable, kind, commitTimestamp) > 0)
            {
                _changesLost++;
            }
        }
    }

    private void DiscardTransaction()
    {
        _commitSeen = false;
        _savepoints.Clear();
        if (_changeCount > 0 || _overflowed)
        {
            _transactionsRolledBack++;
            TruncateTo(0);
        }

        ClearBuffer();
        InvalidateMetadata(); // the rollback may have undone DDL: its schema_version numbers will be handed out again
    }

    private void TruncateTo(int mark)
    {
        // Past the buffer limit nothing is buffered: the lost tables and kinds stay (telling a reader it missed a change
        // that was then undone only makes it refresh).
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
        _overflowed = false;
        _lost.Clear();
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
}

