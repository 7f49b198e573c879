using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Sample.Tests;

public class SqliteSandboxTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "helios-sandbox-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    [TestCase("ATTACH 'file:{0}?mode=rwc' AS k; CREATE TABLE k.x(v); INSERT INTO k.x VALUES ('ssh-ed25519 AAAA attacker@example')")]
    [TestCase("ATTACH '{0}' AS k; CREATE TABLE k.x(v)")]
    [TestCase("VACUUM INTO '{0}'")]
    public async Task PostSql_StatementThatOpensAnotherFile_Returns400AndCreatesNoFile(string template)
    {
        string target = Path.Combine(_directory, "x.db");
        foreach (string[] args in new[] { Array.Empty<string>(), ["--db", Path.Combine(_directory, "main.db")] })
        {
            await using SampleServer server = await SampleServer.StartAsync(args);
            (int status, JsonElement body) = await server.PostSqlAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, target), CancellationToken.None);
            (_, JsonElement databases) = await server.PostSqlAsync("SELECT name FROM pragma_database_list ORDER BY name", CancellationToken.None);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(status, Is.EqualTo(400), body.GetRawText());
                Assert.That(File.Exists(target), Is.False, "no file may be created outside the configured database");
                Assert.That(databases.GetProperty("results")[0].GetProperty("rows").GetRawText(), Is.EqualTo("""[{"name":"main"}]"""), "nothing stays attached");
            }
        }
    }

    [Test]
    public async Task PostSql_LoadExtension_Returns400()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        (int status, JsonElement body) = await server.PostSqlAsync("SELECT load_extension('/tmp/evil.so')", CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("not authorized"));
        }
    }

    [Test]
    public async Task Apply_WithoutTheTransactionWrapper_StillRefusesAttachAndVacuumInto()
    {
        using var notifier = new ChangeNotifier();
        using var database = new SampleDatabase(Options.Create(new SampleOptions()), notifier);
        string target = Path.Combine(_directory, "y.db");

        string?[] errors = await database.RunAsync(connection =>
            new[] { $"ATTACH 'file:{target}?mode=rwc' AS k", $"VACUUM INTO '{target}'" }.Select(sql =>
            {
                using SqliteCommand command = connection.CreateCommand();
                command.CommandText = sql;
                try
                {
                    command.ExecuteNonQuery();
                    return null;
                }
                catch (SqliteException e)
                {
                    return e.Message;
                }
            }).ToArray());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(errors, Has.All.Not.Null);
            Assert.That(File.Exists(target), Is.False);
        }
    }
}
