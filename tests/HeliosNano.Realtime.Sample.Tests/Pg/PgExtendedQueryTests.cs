using System.Net.WebSockets;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

/// <summary>The real Npgsql 10 driver (extended query protocol, binary parameters and results) against the sample.</summary>
public class PgExtendedQueryTests
{
    private const string CreateOrders = """
        CREATE TABLE orders (
          id SERIAL PRIMARY KEY,
          customer TEXT,
          total NUMERIC(10, 2),
          status TEXT DEFAULT 'pending',
          paid BOOLEAN,
          ref UUID,
          blob BYTEA,
          ratio DOUBLE PRECISION,
          big BIGINT,
          small SMALLINT,
          placed_at TIMESTAMP,
          placed_tz TIMESTAMPTZ,
          updated_at TIMESTAMP DEFAULT now()
        )
        """;

    /// <summary>The connection string a user needs: the sample has no pg_type for Npgsql's type loading.</summary>
    internal static string ConnectionString(int port) =>
        $"Host=127.0.0.1;Port={port};Username=postgres;Password=s3cret;Database=postgres;Server Compatibility Mode=NoTypeLoading";

    [Test]
    [CancelAfter(60_000)]
    public async Task Insert_WithParameters_DeliversTheEventToAWebSocketSubscriber(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        using ClientWebSocket socket = await PgWire.JoinAsync(server, "orders", cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);

        await using var insert = new NpgsqlCommand("INSERT INTO orders (customer, total) VALUES ($1, $2)", connection);
        insert.Parameters.AddWithValue("Alice");
        insert.Parameters.AddWithValue(49.99m);
        Assert.That(await insert.ExecuteNonQueryAsync(cancellationToken), Is.EqualTo(1));

        JsonElement change = await PgWire.ReceiveChangeAsync(socket, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(change.GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(change.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo("Alice"));
            Assert.That(change.GetProperty("record").GetProperty("total").GetString(), Is.EqualTo("49.99"));
            Assert.That(change.GetProperty("record").GetProperty("status").GetString(), Is.EqualTo("pending"));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Select_WithParameters_ReadsEveryCommonTypeBack(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);
        var reference = Guid.NewGuid();
        var placed = new DateTime(2026, 12, 1, 10, 30, 15, 123, DateTimeKind.Unspecified).AddTicks(4560);
        var placedUtc = new DateTime(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO orders (customer, total, paid, ref, blob, ratio, big, small, placed_at, placed_tz) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            connection))
        {
            insert.Parameters.AddWithValue("Zoë");
            insert.Parameters.AddWithValue(1234567.89m);
            insert.Parameters.AddWithValue(true);
            insert.Parameters.AddWithValue(reference);
            insert.Parameters.AddWithValue(new byte[] { 0, 1, 254, 255 });
            insert.Parameters.AddWithValue(0.25);
            insert.Parameters.AddWithValue(long.MaxValue);
            insert.Parameters.AddWithValue((short)-7);
            insert.Parameters.AddWithValue(placed);
            insert.Parameters.AddWithValue(placedUtc);
            Assert.That(await insert.ExecuteScalarAsync(cancellationToken), Is.EqualTo(1));
        }

        await using var select = new NpgsqlCommand(
            "SELECT id, customer, total, paid, ref, blob, ratio, big, small, placed_at, placed_tz, status, count(*) OVER () AS n FROM orders WHERE customer = $1 AND total > $2",
            connection);
        select.Parameters.AddWithValue("Zoë");
        select.Parameters.Add(new NpgsqlParameter { Value = 1000, NpgsqlDbType = NpgsqlDbType.Integer });
        await using NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken);
        Assert.That(await reader.ReadAsync(cancellationToken), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reader.GetInt32(0), Is.EqualTo(1));
            Assert.That(reader.GetString(1), Is.EqualTo("Zoë"));
            Assert.That(reader.GetDecimal(2), Is.EqualTo(1234567.89m));
            Assert.That(reader.GetBoolean(3), Is.True);
            Assert.That(reader.GetGuid(4), Is.EqualTo(reference));
            Assert.That(reader.GetFieldValue<byte[]>(5), Is.EqualTo(new byte[] { 0, 1, 254, 255 }));
            Assert.That(reader.GetDouble(6), Is.EqualTo(0.25));
            Assert.That(reader.GetInt64(7), Is.EqualTo(long.MaxValue));
            Assert.That(reader.GetInt16(8), Is.EqualTo(-7));
            Assert.That(reader.GetDateTime(9), Is.EqualTo(placed));
            Assert.That(reader.GetFieldValue<DateTime>(10), Is.EqualTo(placedUtc));
            Assert.That(reader.GetFieldValue<DateTime>(10).Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(reader.GetString(11), Is.EqualTo("pending"));
            Assert.That(reader.GetInt64(12), Is.EqualTo(1), "an expression column is int8, as count(*) is in PostgreSQL");
            Assert.That(reader.GetDataTypeName(2), Is.EqualTo("numeric"));
        }

        Assert.That(await reader.ReadAsync(cancellationToken), Is.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PreparedStatement_ReusedSeveralTimes_InsertsAndReadsEveryRow(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        using ClientWebSocket socket = await PgWire.JoinAsync(server, "orders", cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);
        await using var insert = new NpgsqlCommand("INSERT INTO orders (customer, big) VALUES ($1, $2)", connection);
        var customer = new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text };
        var big = new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint };
        insert.Parameters.Add(customer);
        insert.Parameters.Add(big);
        await insert.PrepareAsync(cancellationToken);
        Assert.That(insert.IsPrepared, Is.True);
        for (int i = 1; i <= 5; i++)
        {
            (customer.TypedValue, big.TypedValue) = ($"c{i}", i * 10L);
            Assert.That(await insert.ExecuteNonQueryAsync(cancellationToken), Is.EqualTo(1));
        }

        await using var select = new NpgsqlCommand("SELECT customer, big FROM orders WHERE big >= $1 ORDER BY id", connection);
        var floor = new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint };
        select.Parameters.Add(floor);
        await select.PrepareAsync(cancellationToken);
        foreach ((long from, string[] expected) in new[] { (40L, new[] { "c4", "c5" }), (0L, new[] { "c1", "c2", "c3", "c4", "c5" }), (99L, Array.Empty<string>()) })
        {
            floor.TypedValue = from;
            var read = new List<string>();
            await using NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                read.Add(reader.GetString(0));
            }

            Assert.That(read, Is.EqualTo(expected), $"big >= {from}");
        }

        for (int i = 1; i <= 5; i++)
        {
            JsonElement change = await PgWire.ReceiveChangeAsync(socket, cancellationToken);
            Assert.That(change.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo($"c{i}"), "events in commit order");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BeginTransaction_CommitPublishesAndRollbackDoesNot(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        using ClientWebSocket socket = await PgWire.JoinAsync(server, "orders", cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);

        await using (NpgsqlTransaction undone = await connection.BeginTransactionAsync(cancellationToken))
        {
            await InsertAsync(connection, "undone", cancellationToken);
            Assert.That(await CountAsync(connection, cancellationToken), Is.EqualTo(1), "visible inside its transaction");
            await undone.RollbackAsync(cancellationToken);
        }

        Assert.That(await CountAsync(connection, cancellationToken), Is.Zero);
        await using (NpgsqlTransaction kept = await connection.BeginTransactionAsync(cancellationToken))
        {
            await InsertAsync(connection, "kept 1", cancellationToken);
            await InsertAsync(connection, "kept 2", cancellationToken);

            // Until COMMIT, other clients wait for the database (SQLite has one writer), so POST /sql is not asked here.
            await kept.CommitAsync(cancellationToken);
        }

        // The first events to arrive are the committed rows: the rolled-back one was never published.
        JsonElement first = await PgWire.ReceiveChangeAsync(socket, cancellationToken);
        JsonElement second = await PgWire.ReceiveChangeAsync(socket, cancellationToken);
        Assert.That(
            new[] { first, second }.Select(c => c.GetProperty("record").GetProperty("customer").GetString()),
            Is.EqualTo(new[] { "kept 1", "kept 2" }));
        (int status, JsonElement body) = await server.PostSqlAsync("SELECT count(*) AS n FROM orders", cancellationToken);
        Assert.That((status, body.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32()), Is.EqualTo((200, 2)));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Batch_ErrorInThePipeline_RollsTheBatchBackAndTheConnectionGoesOn(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        using ClientWebSocket socket = await PgWire.JoinAsync(server, "orders", cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);

        // One Parse/Bind/Describe/Execute per command, then a single Sync: the second command fails.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO orders (customer) VALUES ($1)") { Parameters = { new() { Value = "first" } } },
                new NpgsqlBatchCommand("INSERT INTO nowhere VALUES ($1)") { Parameters = { new() { Value = 1 } } },
                new NpgsqlBatchCommand("INSERT INTO orders (customer) VALUES ($1)") { Parameters = { new() { Value = "third" } } },
            },
        };
        PostgresException error = (await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync(cancellationToken)))!;
        Assert.That((error.SqlState, error.MessageText), Is.EqualTo(("42P01", "no such table: nowhere")));

        // Recovered at Sync: the connection serves the next command, and the batch's implicit transaction was undone.
        Assert.That(await CountAsync(connection, cancellationToken), Is.Zero);
        await InsertAsync(connection, "after", cancellationToken);
        JsonElement change = await PgWire.ReceiveChangeAsync(socket, cancellationToken);
        Assert.That(change.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo("after"), "nothing of the failed batch was published");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PooledConnection_ReopenedAfterClose_IsResetAndServes(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(ConnectionString(server.PgPort));
        for (int i = 0; i < 3; i++)
        {
            await using NpgsqlConnection connection = await source.OpenConnectionAsync(cancellationToken);
            await using var prepared = new NpgsqlCommand("SELECT count(*) FROM orders WHERE customer <> $1", connection);
            prepared.Parameters.AddWithValue("x");
            await prepared.PrepareAsync(cancellationToken);
            Assert.That(await prepared.ExecuteScalarAsync(cancellationToken), Is.EqualTo(i));
            await InsertAsync(connection, $"row {i}", cancellationToken);
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task ConcurrentConnections_EveryInsertIsPublishedOnceInCommitOrder(CancellationToken cancellationToken)
    {
        const int Connections = 4;
        const int PerConnection = 25;
        await using SampleServer server = await StartAsync(cancellationToken);
        using ClientWebSocket socket = await PgWire.JoinAsync(server, "orders", cancellationToken);
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(
            async () =>
            {
                await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
                await connection.OpenAsync(cancellationToken);
                await using var insert = new NpgsqlCommand("INSERT INTO orders (customer, small) VALUES ($1, $2)", connection);
                var customer = new NpgsqlParameter<string> { TypedValue = $"conn {c}" };
                var sequence = new NpgsqlParameter<short>();
                insert.Parameters.Add(customer);
                insert.Parameters.Add(sequence);
                for (short i = 0; i < PerConnection; i++)
                {
                    sequence.TypedValue = i;
                    if (i % 5 == 4)
                    {
                        // Every fifth one inside an explicit transaction, to mix both ways of committing.
                        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken);
                        await insert.ExecuteNonQueryAsync(cancellationToken);
                        await transaction.CommitAsync(cancellationToken);
                    }
                    else
                    {
                        await insert.ExecuteNonQueryAsync(cancellationToken);
                    }
                }
            },
            cancellationToken)));

        var ids = new List<int>();
        var next = new int[Connections];
        for (int n = 0; n < Connections * PerConnection; n++)
        {
            JsonElement record = (await PgWire.ReceiveChangeAsync(socket, cancellationToken)).GetProperty("record");
            ids.Add(record.GetProperty("id").GetInt32());
            int connection = int.Parse(record.GetProperty("customer").GetString()!["conn ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(record.GetProperty("small").GetInt32(), Is.EqualTo(next[connection]++), $"connection {connection}'s inserts arrive once each, in order");
        }

        Assert.That(ids, Is.EqualTo(Enumerable.Range(1, Connections * PerConnection)), "commit order, nothing lost or repeated");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Open_WithoutNoTypeLoading_FailsWithAnErrorNamingTheSetting(CancellationToken cancellationToken)
    {
        await using SampleServer server = await StartAsync(cancellationToken);
        string plain = ConnectionString(server.PgPort).Replace(";Server Compatibility Mode=NoTypeLoading", string.Empty, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(plain);
        PostgresException error = (await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync(cancellationToken)))!;
        Assert.That(error.SqlState, Is.EqualTo("0A000"));
        Assert.That(error.MessageText, Does.Contain("Server Compatibility Mode=NoTypeLoading"));
    }

    private static async Task<SampleServer> StartAsync(CancellationToken cancellationToken)
    {
        SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--auth", "scram-sha-256", "--password", "s3cret");
        await using var connection = new NpgsqlConnection(ConnectionString(server.PgPort));
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand(CreateOrders, connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return server;
    }

    private static async Task InsertAsync(NpgsqlConnection connection, string customer, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO orders (customer) VALUES ($1)", connection);
        insert.Parameters.AddWithValue(customer);
        Assert.That(await insert.ExecuteNonQueryAsync(cancellationToken), Is.EqualTo(1));
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM orders", connection);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }
}
