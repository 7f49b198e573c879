using HeliosNano.Realtime.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Sample;

/// <summary>The sample's SQLite database: one connection, used by one request at a time, with change capture on it.</summary>
/// <remarks>
/// A SQLite connection is not thread-safe, and an in-memory database lives exactly as long as its connection, so the
/// sample keeps a single connection open for its lifetime and serializes all access with a <see cref="SemaphoreSlim"/>.
/// Change capture is attached to that same connection, so every write made through <c>/sql</c> or <c>/rest/v1</c> is
/// published after it commits.
/// </remarks>
internal sealed class SampleDatabase : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;
    private readonly SqliteChangeCapture _capture;
    private readonly ChangeNotifier _notifier;

    /// <summary>Initializes a new instance of the <see cref="SampleDatabase"/> class and opens the database.</summary>
    public SampleDatabase(IOptions<SampleOptions> options, ChangeNotifier notifier, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(notifier);
        string? file = options.Value.Database;
        IsInMemory = string.IsNullOrWhiteSpace(file);
        Location = IsInMemory ? ":memory:" : Path.GetFullPath(file!);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Location,
            Mode = IsInMemory ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        };
        _connection = new SqliteConnection(builder.ConnectionString);
        _connection.Open();
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

    /// <summary>Gets whether the database is in memory (lost on exit).</summary>
    public bool IsInMemory { get; }

    /// <summary>Gets the database file's full path, or <c>:memory:</c>.</summary>
    public string Location { get; }

    /// <summary>Runs <paramref name="work"/> on the connection once no other request is using it.</summary>
    public async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return work(_connection);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes the connection for work that spans several calls: a PostgreSQL-protocol session's transaction, held from
    /// <c>BEGIN</c> to <c>COMMIT</c>. No other request runs until <see cref="Exit"/>, exactly as SQLite has one writer.
    /// </summary>
    public async Task<SqliteConnection> EnterAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        return _connection;
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
        _gate.Wait();
        try
        {
            _capture.Dispose();
            _connection.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }
}
