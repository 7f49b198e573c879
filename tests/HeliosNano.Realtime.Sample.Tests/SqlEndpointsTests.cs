using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.Sample.Tests;

public class SqlEndpointsTests
{
    private SampleServer _server = null!;

    [SetUp]
    public async Task SetUp()
    {
        _server = await SampleServer.StartAsync();
        (int status, _) = await _server.PostSqlAsync(
            "CREATE TABLE orders ( id SERIAL PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', updated_at TIMESTAMP DEFAULT now());",
            CancellationToken.None);
        Assert.That(status, Is.EqualTo(200));
    }

    [TearDown]
    public async Task TearDown() => await _server.DisposeAsync();

    [Test]
    [CancelAfter(10_000)]
    public async Task PostSql_TutorialStatements_Returns200WithResults(CancellationToken cancellationToken)
    {
        (int status, JsonElement body) = await _server.PostSqlAsync(
            "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;SELECT id, customer, total, status FROM orders;DELETE FROM orders WHERE id = 1;",
            cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(200));
            Assert.That(body.GetProperty("results").GetRawText(), Is.EqualTo(
                """[{"command":"INSERT","rowCount":1},{"command":"UPDATE","rowCount":1},{"command":"SELECT","rows":[{"id":1,"customer":"Alice","total":49.99,"status":"paid"}],"rowCount":1},{"command":"DELETE","rowCount":1}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task PostSql_JsonQueryBody_RunsTheQuery(CancellationToken cancellationToken)
    {
        using var content = new StringContent("""{"query":"SELECT 1 + 1 AS two"}""", Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _server.Http.PostAsync("/sql", content, cancellationToken);
        JsonElement body = await SampleServer.ReadJsonAsync(response, cancellationToken);

        Assert.That(body.GetProperty("results")[0].GetProperty("rows").GetRawText(), Is.EqualTo("""[{"two":2}]"""));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task PostSql_BadStatement_Returns400AndAppliesNothing(CancellationToken cancellationToken)
    {
        (int status, JsonElement body) = await _server.PostSqlAsync(
            "INSERT INTO orders (customer) VALUES ('Alice'); INSERT INTO orderz (customer) VALUES ('Bob')", cancellationToken);
        (_, JsonElement count) = await _server.PostSqlAsync("SELECT count(*) AS n FROM orders", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("error").GetString(), Is.EqualTo("no such table: orderz"));
            Assert.That(body.GetProperty("statement").GetInt32(), Is.EqualTo(2));
            Assert.That(count.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32(), Is.Zero);
        }
    }

    [TestCase("")]
    [TestCase("{\"sql\": \"SELECT 1\"}")]
    [TestCase("{not json")]
    [TestCase("{\"query\":\"SELECT '\\ud800'\"}")]
    public async Task PostSql_NoUsableSql_Returns400WithError(string requestBody)
    {
        (int status, JsonElement body) = await _server.PostSqlAsync(requestBody, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("error").GetString(), Is.Not.Empty);
        }
    }

    /// <summary>Never ends on its own: SQLite has to be interrupted.</summary>
    internal const string EndlessQuery = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

    [Test]
    [CancelAfter(20_000)]
    public async Task PostSql_NulByte_Returns400AndTheServerStaysResponsive(CancellationToken cancellationToken)
    {
        (int status, JsonElement body) = await _server.PostSqlAsync("SELECT 1 AS x \0 SELECT 2", cancellationToken);
        (int jsonStatus, _) = await _server.PostSqlAsync("{\"query\":\"SELECT 1 \\u0000 SELECT 2\"}", cancellationToken);
        using HttpResponseMessage tables = await _server.Http.GetAsync("/api/tables", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("NUL"));
            Assert.That(jsonStatus, Is.EqualTo(400));
            Assert.That((int)tables.StatusCode, Is.EqualTo(200), "the database is not wedged");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PostSql_ClientGoesAway_QueryIsInterruptedAndTheNextRequestRuns(CancellationToken cancellationToken)
    {
        // The statement timeout is 30 s by default: only the disconnect can free the connection within this test's 20 s.
        SampleDatabase database = _server.App.Services.GetRequiredService<SampleDatabase>();
        using var client = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<(int, JsonElement)> abandoned = _server.PostSqlAsync(EndlessQuery, client.Token);
        while (!database.IsBusy)
        {
            await Task.Delay(10, cancellationToken);
        }

        await client.CancelAsync();
        Assert.That(async () => await abandoned, Throws.InstanceOf<OperationCanceledException>());

        (int status, JsonElement body) = await _server.PostSqlAsync("SELECT 2 AS two", cancellationToken);

        Assert.That((status, body.GetProperty("results")[0].GetProperty("rows").GetRawText()), Is.EqualTo((200, """[{"two":2}]""")));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PostSql_PastTheStatementTimeout_IsInterruptedRolledBackAndAnswers400(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--Sample:StatementTimeout", "00:00:00.5");
        (int create, _) = await server.PostSqlAsync("CREATE TABLE t (v INTEGER)", cancellationToken);
        (int status, JsonElement body) = await server.PostSqlAsync("INSERT INTO t VALUES (1); " + EndlessQuery, cancellationToken);
        (_, JsonElement count) = await server.PostSqlAsync("SELECT count(*) AS n FROM t", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(create, Is.EqualTo(200));
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("error").GetString(), Is.EqualTo("canceling statement due to statement timeout"));
            Assert.That(count.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32(), Is.Zero, "rolled back");
        }
    }
}
