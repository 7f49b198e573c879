using HeliosNano.Realtime.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample;

/// <summary>The sample's SQLite database: one connection, used by one request at a time, with change capture on it.</summary>
/// <remarks>
/// A SQLite connection is not thread-safe, and an in-memory database lives exactly as long as its connection, so the
/// sample keeps a single connection open for its lifetime and serializes all access with a <see cref="SemaphoreSlim"/>.
/// Change capture is attached to that same connection, so every write made through <c>/sql</c> or <c>/rest/v1</c> is
/// published after it commits.
/// <para>
/// Every request's SQL is bounded: it is interrupted (through SQLite's progress handler, so SQLite rolls it back) when its
/// client goes away, when it runs past <see cref="SampleOptions.StatementTimeout"/>, or when the server stops; so the
/// gate is always released within a bounded time, and shutdown never waits on a client's query.
/// </para>
/// </remarks>
internal sealed class SampleDatabase : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;
    private readonly SqliteChangeCapture _capture;
    private readonly ChangeNotifier _notifier;
    private readonly TimeSpan _statementTimeout;

    /// <summary>Cancelled when the server stops: interrupts the running work and fails the waiting.</summary>
    private readonly CancellationTokenSource _stopping = new();
    private bool _disposed;

    /// <summary>The cancellation of the work that holds the connection, read by the progress handler; null when idle.</summary>
    private volatile CancellationTokenSource? _running;

    /// <summary>Kept in a field: SQLite holds a pointer to the callback for the connection's lifetime.</summary>
    private readonly delegate_progress _progress;

    /// <summary>
    /// SQLite calls the progress handler every this many virtual-machine instructions of a running statement: often
    /// enough to stop within microseconds, rarely enough to cost nothing measurable. A handler (rather than one
    /// <c>sqlite3_interrupt</c> call) cannot miss a cancellation that lands between two statements of a request.
    /// </summary>
    private const int ProgressInstructions = 1000;

    /// <summary>
    /// How long <see cref="Dispose"/> waits for the running work after interrupting it. SQLite stops at the next
    /// instruction, so this is only reached by a statement stuck outside SQLite; shutdown then goes on without it.
    /// </summary>
    private static readonly TimeSpan s_disposeWait = TimeSpan.FromSeconds(5);

    /// <summary>Initializes a new instance of the <see cref="SampleDatabase"/> class and opens the database.</summary>
    public SampleDatabase(IOptions<SampleOptions> options, ChangeNotifier notifier, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(notifier);
        string? file = options.Value.Database;
        IsInMemory = string.IsNullOrWhiteSpace(file);
        MaxResponseBytes = options.Value.MaxResponseBytes > 0 ? options.Value.MaxResponseBytes : SampleOptions.DefaultMaxResponseBytes;
        _statementTimeout = options.Value.StatementTimeout > TimeSpan.Zero ? options.Value.StatementTimeout : SampleOptions.DefaultStatementTimeout;
        Location = IsInMemory ? ":memory:" : Path.GetFullPath(file!);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Location,
            Mode = IsInMemory ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        };
        _connection = new SqliteConnection(builder.ConnectionString);
        _connection.Open();
        if (!IsInMemory && !string.IsNullOrEmpty(options.Value.Redis))
        {
            // Several processes share the file: readers never block the writer, and a writer waits for the lock briefly.
            using SqliteCommand pragma = _connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;";
            pragma.ExecuteNonQuery();
        }

        // Before any client SQL: no statement may reach a file other than this database (ATTACH, VACUUM INTO, load_extension).
        SqliteSandbox.Apply(_connection);
        _progress = static state => ((SampleDatabase)state)._running?.IsCancellationRequested == true ? 1 : 0;
        raw.sqlite3_progress_handler(_connection.Handle, ProgressInstructions, _progress, this);
        _notifier = notifier;
        _capture = _connection.CaptureChanges(notifier, new SqliteChangeCaptureOptions
        {
            Schema = SchemaName,

            // As the tutorial shows them ("total":"49.99"); supabase-js turns numeric strings back into numbers.
            NumericAsString = true,
            Logger = loggerFactory?.CreateLogger("HeliosNano.Realtime.Sqlite.SqliteChangeCapture"),
            TimeProvider = timeProvider,
        });
        RegisterTables(_connection);
    }

    /// <summary>The schema name changes are published under (SQLite has none; Supabase clients expect <c>public</c>).</summary>
    public const string SchemaName = "public";

    /// <summary>Gets the largest JSON response a request may build (<see cref="SampleOptions.MaxResponseBytes"/>).</summary>
    public long MaxResponseBytes { get; }

    /// <summary>Gets whether the database is in memory (lost on exit).</summary>
    public bool IsInMemory { get; }

    /// <summary>Gets the database file's full path, or <c>:memory:</c>.</summary>
    public string Location { get; }

    /// <summary>Gets whether a request holds the connection now (for tests).</summary>
    internal bool IsBusy => _gate.CurrentCount == 0;

    /// <summary>
    /// Runs <paramref name="work"/> on the connection once no other request is using it, interrupting it when
    /// <paramref name="cancellationToken"/> fires (the client went away), after <see cref="SampleOptions.StatementTimeout"/>,
    /// or when the server stops.
    /// </summary>
    /// <exception cref="SqlTimeoutException">The work ran past the statement timeout; SQLite rolled it back.</exception>
    /// <exception cref="OperationCanceledException">The client went away or the server is stopping.</exception>
    public async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await _gate.WaitAsync(cancel.Token);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // The clock starts once the request holds the connection: waiting for the gate is not running SQL.
            cancel.CancelAfter(_statementTimeout);
            T result;
            _running = cancel;
            try
            {
                result = work(_connection);
            }
            catch (Exception e) when (cancel.IsCancellationRequested && e is not OperationCanceledException)
            {
                // The interrupt surfaced as the work's own error ("interrupted"); say what really happened.
                if (cancellationToken.IsCancellationRequested || _stopping.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The request's SQL was interrupted: the client went away or the server is stopping.", e, cancel.Token);
                }

                throw new SqlTimeoutException(SqlTimeoutException.TimeoutMessage, e);
            }
            finally
            {
                _running = null;

                // An interrupted read can leave the request's transaction open; the next request must start clean.
                if (raw.sqlite3_get_autocommit(_connection.Handle) == 0)
                {
                    Sql.SqlBatch.RollBack(_connection);
                }
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Interrupts the running work and refuses new work: called when the server starts stopping.</summary>
    public void Stop() => _stopping.Cancel();

    /// <summary>
    /// Takes the connection for work that spans several calls: a PostgreSQL-protocol session's transaction, held from
    /// <c>BEGIN</c> to <c>COMMIT</c>. No other request runs until <see cref="Exit"/>, exactly as SQLite has one writer.
    /// </summary>
    public async Task<SqliteConnection> EnterAsync(CancellationToken cancellationToken = default)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await _gate.WaitAsync(cancel.Token);
        return _connection;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the connection taken by <see cref="EnterAsync"/>, under the same interruption as
    /// <see cref="RunAsync{T}"/>: SQLite stops after <see cref="SampleOptions.StatementTimeout"/>, when
    /// <paramref name="cancellationToken"/> fires or when the server stops (the work sees SQLite's "interrupted" error).
    /// </summary>
    public T RunEntered<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        cancel.CancelAfter(_statementTimeout);
        _running = cancel;
        try
        {
            return work(_connection);
        }
        finally
        {
            _running = null;
        }
    }

    /// <summary>Gives the connection taken by <see cref="EnterAsync"/> back.</summary>
    public void Exit() => _gate.Release();

    /// <summary>
    /// Makes every table known to the notifier, so a WebSocket client may join <c>realtime:public:&lt;table&gt;</c> as soon
    /// as the table exists (a join naming an unknown table gets a <c>system</c> error, which catches typos).
    /// </summary>
    public void RegisterTables(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            _notifier.GetTable(SchemaName, reader.GetString(0));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Stop();
        if (!_gate.Wait(s_disposeWait))
        {
            // Something holds the connection outside SQLite's reach; the process is ending, so leave it rather than hang.
            return;
        }

        try
        {
            _disposed = true;
            _capture.Dispose();
            _connection.Dispose();
            _stopping.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }
}
