using System.Buffers;
using System.Text.Json;
using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Tests.Sql;

public class SqlBatchTests
{
    private SqliteConnection _connection = null!;

    [SetUp]
    public void SetUp()
    {
        _connection = new SqliteConnection("Data Source=:memory:");
        _connection.Open();
        Run("CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC(10, 2), paid BOOLEAN DEFAULT false)");
    }

    [TearDown]
    public void TearDown() => _connection.Dispose();

    [Test]
    public void Execute_MixedStatements_ReportsCommandTagsRowCountsAndTypedRows()
    {
        JsonElement results = Run(
            "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99), ('Bob', 5); UPDATE orders SET paid = true WHERE id = 2; " +
            "SELECT id, customer, total, paid FROM orders ORDER BY id; DELETE FROM orders WHERE id = 1 RETURNING id")
            .GetProperty("results");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(results[0].GetRawText(), Is.EqualTo("""{"command":"INSERT","rowCount":2}"""));
            Assert.That(results[1].GetRawText(), Is.EqualTo("""{"command":"UPDATE","rowCount":1}"""));
            Assert.That(results[2].GetProperty("rows").GetRawText(), Is.EqualTo(
                """[{"id":1,"customer":"Alice","total":49.99,"paid":false},{"id":2,"customer":"Bob","total":5,"paid":true}]"""));
            Assert.That(results[2].GetProperty("rowCount").GetInt32(), Is.EqualTo(2));
            Assert.That(results[3].GetProperty("command").GetString(), Is.EqualTo("DELETE"));
            Assert.That(results[3].GetProperty("rows").GetRawText(), Is.EqualTo("""[{"id":1}]"""));
            Assert.That(results[3].GetProperty("rowCount").GetInt32(), Is.EqualTo(1));
        }
    }

    [Test]
    public void Execute_FailingStatement_ThrowsWithItsNumberAndAppliesNothing()
    {
        var error = Assert.Throws<SqlBatchException>(() =>
            Run("INSERT INTO orders (customer) VALUES ('Alice'); INSERT INTO orders (customer) VALUES (NULL); INSERT INTO orders (customer) VALUES ('Carol')"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error!.StatementNumber, Is.EqualTo(2));
            Assert.That(error.Message, Does.Contain("NOT NULL constraint failed: orders.customer"));
            Assert.That(error.Statement, Is.EqualTo("INSERT INTO orders (customer) VALUES (NULL)"));
            Assert.That(Count(), Is.Zero, "the first INSERT was rolled back with the request");
            Assert.That(IsAutocommit(), Is.True, "no transaction is left open on the shared connection");
        }
    }

    [Test]
    public void Execute_ExplicitRollback_UndoesOnlyTheTransaction()
    {
        JsonElement results = Run(
            "INSERT INTO orders (customer) VALUES ('kept'); BEGIN; INSERT INTO orders (customer) VALUES ('undone'); ROLLBACK; " +
            "START TRANSACTION; INSERT INTO orders (customer) VALUES ('committed'); COMMIT")
            .GetProperty("results");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(results.EnumerateArray().Select(r => r.GetProperty("command").GetString()),
                Is.EqualTo(new[] { "INSERT", "BEGIN", "INSERT", "ROLLBACK", "BEGIN", "INSERT", "COMMIT" }));
            Assert.That(Customers(), Is.EqualTo(new[] { "kept", "committed" }));
        }
    }

    [Test]
    public void Execute_TransactionControlOutOfPlace_GivesPostgresNotices()
    {
        JsonElement body = Run("COMMIT; BEGIN; BEGIN; INSERT INTO orders (customer) VALUES ('left open')");
        JsonElement results = body.GetProperty("results");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(results[0].GetProperty("notice").GetString(), Is.EqualTo("there is no transaction in progress"));
            Assert.That(results[2].GetProperty("notice").GetString(), Is.EqualTo("there is already a transaction in progress"));
            Assert.That(body.GetProperty("notice").GetString(), Does.Contain("rolled back"));
            Assert.That(Count(), Is.Zero, "a transaction still open at the end of the request is rolled back, as when psql exits");
        }
    }

    [Test]
    public void Execute_EmptyRequest_Throws()
    {
        Assert.That(() => Run(" -- nothing\n"), Throws.TypeOf<SqlBatchException>().With.Message.Contains("no SQL statement"));
    }

    [TestCase("CREATE TABLE x (a INT)", "CREATE TABLE")]
    [TestCase("create unique index i on orders (customer)", "CREATE INDEX")]
    [TestCase("DROP TABLE IF EXISTS x", "DROP TABLE")]
    [TestCase("  insert into orders default values", "INSERT")]
    [TestCase("WITH a AS (SELECT 1) SELECT * FROM a", "WITH")]
    public void CommandTag_Statement_IsPsqlStyle(string statement, string tag)
    {
        Assert.That(SqlBatch.CommandTag(statement), Is.EqualTo(tag));
    }

    private JsonElement Run(string sql)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            SqlBatch.Execute(_connection, sql, writer);
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    private long Count()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM orders";
        return (long)command.ExecuteScalar()!;
    }

    private List<string> Customers()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT customer FROM orders ORDER BY id";
        using SqliteDataReader reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private bool IsAutocommit()
    {
        // BEGIN fails inside an open transaction; autocommit mode accepts it.
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "BEGIN; ROLLBACK;";
        try
        {
            command.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }
}
