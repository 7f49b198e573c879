using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Sample.Tests;

public class SampleDatabaseTests
{
    [Test]
    [CancelAfter(15_000)]
    public async Task DatabaseOption_File_KeepsDataAcrossRestarts(CancellationToken cancellationToken)
    {
        string file = Path.Combine(Path.GetTempPath(), "helios-sample-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using (SampleServer first = await SampleServer.StartAsync("--db", file))
            {
                (int status, _) = await first.PostSqlAsync("CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('kept')", cancellationToken);
                Assert.That(status, Is.EqualTo(200));
            }

            await using SampleServer second = await SampleServer.StartAsync("--db", file);
            (_, System.Text.Json.JsonElement body, _) = await second.SendAsync(HttpMethod.Get, "/rest/v1/notes?select=body", null, cancellationToken);

            Assert.That(body.GetRawText(), Is.EqualTo("""[{"body":"kept"}]"""));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task RegisterTables_AfterCreateTable_TableIsKnownToTheNotifier(CancellationToken cancellationToken)
    {
        using var notifier = new ChangeNotifier();
        using (var empty = new SampleDatabase(Options.Create(new SampleOptions()), notifier))
        {
            await empty.RunAsync(connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "CREATE TABLE orders (id INTEGER PRIMARY KEY)";
                command.ExecuteNonQuery();
                empty.RegisterTables(connection);
                return 0;
            }, cancellationToken);
        }

        Assert.That(notifier.Tables.Select(t => (t.Schema, t.Name)), Is.EqualTo(new[] { ("public", "orders") }));
    }

    [Test]
    public void Constructor_InMemory_ReportsMemoryLocation()
    {
        using var notifier = new ChangeNotifier();
        using var database = new SampleDatabase(Options.Create(new SampleOptions()), notifier);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(database.IsInMemory, Is.True);
            Assert.That(database.Location, Is.EqualTo(":memory:"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task StopAsync_WhileAQueryRuns_InterruptsItAndShutsDown(CancellationToken cancellationToken)
    {
        // The query would run for the whole 30 s statement timeout; the test's 20 s budget needs shutdown to interrupt it.
        SampleServer server = await SampleServer.StartAsync();
        SampleDatabase database = server.App.Services.GetRequiredService<SampleDatabase>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<long> running = Task.Run(() => database.RunAsync(connection =>
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = SqlEndpointsTests.EndlessQuery;
            started.SetResult();
            return (long)command.ExecuteScalar()!;
        }, CancellationToken.None), cancellationToken);
        await started.Task.WaitAsync(cancellationToken);

        await server.DisposeAsync();

        Assert.That(async () => await running, Throws.InstanceOf<OperationCanceledException>());
    }
}
