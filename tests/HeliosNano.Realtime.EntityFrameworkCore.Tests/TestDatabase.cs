using System.Data.Common;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

public enum Provider
{
    Sqlite,
    Postgres,
}

/// <summary>One database of either provider, the contexts built on it, and plain (non-EF) read-back of rows.</summary>
internal sealed class TestDatabase : IDisposable
{
    private readonly string? _pgConnectionString;

    private TestDatabase(Provider provider, SqliteConnection? sqlite, string? pg)
    {
        Provider = provider;
        Sqlite = sqlite;
        _pgConnectionString = pg;
    }

    public Provider Provider { get; }

    /// <summary>Gets the open in-memory SQLite connection every context of the test shares.</summary>
    public SqliteConnection? Sqlite { get; }

    public static TestDatabase Create(Provider provider, string? pgConnectionString = null)
    {
        if (provider == Provider.Sqlite)
        {
            var connection = new SqliteConnection("Data Source=:memory:");
            connection.Open();
            return new TestDatabase(provider, connection, null);
        }

        return new TestDatabase(provider, null, pgConnectionString ?? throw new ArgumentNullException(nameof(pgConnectionString)));
    }

    public DbContextOptions<TContext> Options<TContext>(ChangeNotifier? notifier, Action<RealtimeCaptureOptions>? configure = null, IInterceptor[]? before = null, bool retry = false)
        where TContext : DbContext
    {
        var builder = new DbContextOptionsBuilder<TContext>();
        if (Provider == Provider.Sqlite)
        {
            builder.UseSqlite(Sqlite!, s =>
            {
                if (retry)
                {
                    s.ExecutionStrategy(d => new RetryOnTestFailure(d));
                }
            });
        }
        else
        {
            builder.UseNpgsql(_pgConnectionString, n =>
            {
                if (retry)
                {
                    n.ExecutionStrategy(d => new RetryOnTestFailure(d));
                }
            });
        }

        if (before is not null)
        {
            builder.AddInterceptors(before);
        }

        if (notifier is not null)
        {
            builder.AddHeliosRealtimeCapture(notifier, configure);
        }

        return builder.Options;
    }

    public ShopDb Shop(ChangeNotifier? notifier, Action<RealtimeCaptureOptions>? configure = null, IInterceptor[]? before = null, bool retry = false) =>
        new(Options<ShopDb>(notifier, configure, before, retry));

    /// <summary>Creates the schema (SQLite: per test; PostgreSQL: once per database) and empties every table.</summary>
    public void Reset()
    {
        using (ShopDb db = Shop(null))
        {
            db.Database.EnsureCreated();
        }

        if (Provider == Provider.Postgres)
        {
            Execute("TRUNCATE " + string.Join(", ", ShopDb.AllTables.Select(t => $"\"{t}\"")) + " RESTART IDENTITY CASCADE");
        }
    }

    public int Execute(string sql)
    {
        using DbConnection connection = Open();
        using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Reads a row with a plain query, not through EF: on PostgreSQL as <c>row_to_json</c> (the server's own JSON of the
    /// row), on SQLite from the storage classes SELECT returns (INTEGER of a <c>bool</c> column as a boolean).
    /// </summary>
    public JsonObject? ReadRow(string table, string where, IReadOnlyList<ChangeColumn> columns)
    {
        using DbConnection connection = Open();
        using DbCommand command = connection.CreateCommand();
        if (Provider == Provider.Postgres)
        {
            command.CommandText = $"SELECT row_to_json(t)::text FROM \"{table}\" t WHERE {where}";
            return command.ExecuteScalar() is string json ? (JsonObject)JsonNode.Parse(json)! : null;
        }

        command.CommandText = $"SELECT * FROM \"{table}\" WHERE {where}";
        using DbDataReader reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var row = new JsonObject();
        for (int i = 0; i < reader.FieldCount; i++)
        {
            string name = reader.GetName(i);
            string type = columns.FirstOrDefault(c => c.Name == name).TypeName ?? "text";
            row[name] = reader.GetValue(i) switch
            {
                DBNull => null,
                long l when type == "bool" => JsonValue.Create(l != 0),
                long l => JsonValue.Create(l),
                double d => JsonValue.Create(d),
                byte[] b => JsonValue.Create("\\x" + Convert.ToHexStringLower(b)),
                string s when type == "jsonb" => JsonNode.Parse(s),
                string s => JsonValue.Create(s),
                object o => throw new InvalidOperationException($"unexpected {o.GetType()}"),
            };
        }

        return row;
    }

    /// <summary>Reads every committed change published so far (the capture publishes synchronously, before SaveChanges/Commit return).</summary>
    public static List<ChangeEvent> Drain(ChangeReader reader)
    {
        var changes = new List<ChangeEvent>();
        while (reader.TryRead(out ChangeEvent? change))
        {
            changes.Add(change);
        }

        return changes;
    }

    public static JsonObject Record(ChangeEvent change) => (JsonObject)JsonNode.Parse(change.Record.Span)!;

    public static JsonObject OldRecord(ChangeEvent change) => (JsonObject)JsonNode.Parse(change.OldRecord.Span)!;

    public static void AssertSameJson(JsonNode? actual, JsonNode? expected, string what) =>
        Assert.That(JsonNode.DeepEquals(actual, expected), Is.True, $"{what}\n  event: {actual?.ToJsonString()}\n  row:   {expected?.ToJsonString()}");

    public void Dispose() => Sqlite?.Dispose();

    private DbConnection Open()
    {
        if (Provider == Provider.Sqlite)
        {
            return new NonDisposingConnection(Sqlite!);
        }

        var connection = new NpgsqlConnection(_pgConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>The shared in-memory SQLite connection, handed out without closing it (closing would drop the database).</summary>
    private sealed class NonDisposingConnection(SqliteConnection inner) : DbConnection
    {
        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string ConnectionString { get => inner.ConnectionString; set => throw new NotSupportedException(); }
        public override string Database => inner.Database;
        public override string DataSource => inner.DataSource;
        public override string ServerVersion => inner.ServerVersion;
        public override System.Data.ConnectionState State => inner.State;
        public override void ChangeDatabase(string databaseName) => throw new NotSupportedException();
        public override void Close() { }
        public override void Open() { }
        protected override DbTransaction BeginDbTransaction(System.Data.IsolationLevel isolationLevel) => inner.BeginTransaction(isolationLevel);
        protected override DbCommand CreateDbCommand() => inner.CreateCommand();
    }
}

/// <summary>A retrying execution strategy that retries only the failures the tests inject.</summary>
internal sealed class RetryOnTestFailure(ExecutionStrategyDependencies dependencies) : ExecutionStrategy(dependencies, 3, TimeSpan.Zero)
{
    protected override bool ShouldRetryOn(Exception exception) => exception is InjectedFailureException;

    protected override TimeSpan? GetNextDelay(Exception lastException) => base.GetNextDelay(lastException) is null ? null : TimeSpan.Zero;
}

internal sealed class InjectedFailureException : Exception
{
    public InjectedFailureException()
        : base("injected transient failure")
    {
    }

    public InjectedFailureException(string message)
        : base(message)
    {
    }

    public InjectedFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Throws <see cref="InjectedFailureException"/> from the next <see cref="Remaining"/> commands of the given source.</summary>
internal sealed class FailNextCommand(CommandSource source) : DbCommandInterceptor
{
    public int Remaining { get; set; } = 1;

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        MaybeFail(eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        MaybeFail(eventData);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        MaybeFail(eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        MaybeFail(eventData);
        return ValueTask.FromResult(result);
    }

    private void MaybeFail(CommandEventData eventData)
    {
        if (eventData.CommandSource == source && Remaining > 0)
        {
            Remaining--;
            throw new InjectedFailureException();
        }
    }
}
