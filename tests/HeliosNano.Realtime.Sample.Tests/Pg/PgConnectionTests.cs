using System.Net.WebSockets;
using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

/// <summary>The tutorial's own psql heredocs, run by the real psql against the sample, with a WebSocket client watching.</summary>
public class PgConnectionTests
{
    // Steps 2 and 5 of the tutorial, verbatim (psql reads them from a heredoc).
    private const string CreateOrders = """
        CREATE TABLE orders (
          id SERIAL PRIMARY KEY,
          customer TEXT,
          total NUMERIC(10, 2),
          status TEXT DEFAULT 'pending',
          updated_at TIMESTAMP DEFAULT now()
        );

        """;

    private const string TutorialWrites = """
        INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);
        UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;
        DELETE FROM orders WHERE id = 1;

        """;

    private static readonly string[] s_tutorialStart = ["--memory", "--auth", "scram-sha-256", "--password", "s3cret", "--pg-port", "0"];

    [Test]
    [CancelAfter(60_000)]
    public async Task Psql_TutorialHeredocs_PrintPostgresTagsAndDeliverThreeEventsInOrder(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync(s_tutorialStart);
        (int created, string createdOutput, string createdError) = await PgWire.RunPsqlAsync("s3cret", server.PgPort, CreateOrders, cancellationToken);
        Assert.That((created, createdOutput.Trim(), createdError), Is.EqualTo((0, "CREATE TABLE", string.Empty)));

        using ClientWebSocket socket = await JoinOrdersAsync(server, cancellationToken);
        (int written, string output, string error) = await PgWire.RunPsqlAsync("s3cret", server.PgPort, TutorialWrites, cancellationToken);
        Assert.That((written, error), Is.EqualTo((0, string.Empty)));
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "INSERT 0 1", "UPDATE 1", "DELETE 1" }));

        JsonElement insert = await ReceiveChangeAsync(socket, cancellationToken);
        JsonElement update = await ReceiveChangeAsync(socket, cancellationToken);
        JsonElement delete = await ReceiveChangeAsync(socket, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(insert.GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(insert.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo("Alice"));
            Assert.That(insert.GetProperty("record").GetProperty("total").GetString(), Is.EqualTo("49.99"));
            Assert.That(insert.GetProperty("record").GetProperty("status").GetString(), Is.EqualTo("pending"));
            Assert.That(update.GetProperty("type").GetString(), Is.EqualTo("UPDATE"));
            Assert.That(update.GetProperty("record").GetProperty("status").GetString(), Is.EqualTo("paid"));
            Assert.That(update.GetProperty("old_record").GetProperty("status").GetString(), Is.EqualTo("pending"));
            Assert.That(delete.GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(delete.GetProperty("old_record").GetProperty("id").GetInt32(), Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Psql_BeginRollbackAcrossMessages_EmitsNothingAndCommitEmitsAfterCommit(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync(s_tutorialStart);
        await PgWire.RunPsqlAsync("s3cret", server.PgPort, CreateOrders, cancellationToken);
        using ClientWebSocket socket = await JoinOrdersAsync(server, cancellationToken);

        (int code, string output, string error) = await PgWire.RunPsqlAsync("s3cret", server.PgPort, """
            BEGIN;
            INSERT INTO orders (customer) VALUES ('undone');
            SELECT customer FROM orders;
            ROLLBACK;
            SELECT count(*) AS n FROM orders;
            BEGIN;
            INSERT INTO orders (customer) VALUES ('kept');
            COMMIT;

            """, cancellationToken);
        Assert.That((code, error), Is.EqualTo((0, string.Empty)));
        Assert.That(output, Does.Contain("BEGIN\nINSERT 0 1\n").And.Contain("undone").And.Contain("ROLLBACK").And.Contain("(1 row)").And.EndWith("COMMIT\n"));
        Assert.That(output, Does.Match(@"\n\s+n\s*\n-+\n\s+0\n"), "the rolled-back row is gone");

        // The first event to arrive is the committed row: the rolled-back one was never published.
        JsonElement first = await ReceiveChangeAsync(socket, cancellationToken);
        Assert.That(first.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo("kept"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Psql_WrongPassword_IsRefusedWith28P01(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync(s_tutorialStart);
        (int code, _, string error) = await PgWire.RunPsqlAsync("wrong", server.PgPort, "SELECT 1;\n", cancellationToken);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("FATAL:  password authentication failed for user \"postgres\""));

        // psql prints no SQLSTATE; the raw protocol shows it.
        (int ok, string output, _) = await PgWire.RunPsqlAsync("s3cret", server.PgPort, "SELECT 1 AS one;\n", cancellationToken);
        Assert.That((ok, output), Is.EqualTo((0, " one \n-----\n   1\n(1 row)\n\n")));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Psql_SeveralStatementsPerQueryAndErrors_AnswerAsPostgres(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        (int code, string output, string error) = await PgWire.RunPsqlAsync(string.Empty, server.PgPort, """
            CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
            INSERT INTO t (name) VALUES ('a'), ('b') \; UPDATE t SET name = 'c' WHERE id = 2 \; SELECT name FROM t ORDER BY id;
            SELECT * FROM nowhere;
            ;
            DELETE FROM t;

            """, cancellationToken);
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.StartWith("CREATE TABLE\nINSERT 0 2\nUPDATE 1\n").And.Contain(" a\n c\n(2 rows)").And.EndWith("DELETE 2\n"));
        Assert.That(error, Does.Contain("ERROR:  no such table: nowhere"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Psql_BackslashDt_ListsTablesAndOtherCatalogCommandsGetAClearError(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        (int code, string output, string error) = await PgWire.RunPsqlAsync(string.Empty, server.PgPort, CreateOrders + "\\dt\n\\d orders\nSELECT 1 AS still_here;\n", cancellationToken);
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain(" public | orders | table | postgres").And.Contain("still_here"));
        Assert.That(error, Does.Contain("ERROR:  this SQLite-backed sample has no pg_catalog"));
    }

    private static Task<ClientWebSocket> JoinOrdersAsync(SampleServer server, CancellationToken cancellationToken) =>
        PgWire.JoinAsync(server, "orders", cancellationToken);

    private static Task<JsonElement> ReceiveChangeAsync(ClientWebSocket socket, CancellationToken cancellationToken) =>
        PgWire.ReceiveChangeAsync(socket, cancellationToken);
}
