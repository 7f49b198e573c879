using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
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
}
