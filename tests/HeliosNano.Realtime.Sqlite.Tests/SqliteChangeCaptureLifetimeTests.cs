using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>Hooks left behind on pooled native connections (review nits 15 and 16), and a completed notifier (17).</summary>
public class SqliteChangeCaptureLifetimeTests
{
    [Test]
    public void CaptureChanges_OnPooledConnectionWithThisPackagesStaleHooks_LogsNoHookReplacedWarning()
    {
        string directory = Directory.CreateTempSubdirectory("helios-sqlite-").FullName;
        string connectionString = $"Data Source={Path.Combine(directory, "pooled.db")};Pooling=True";
        try
        {
            using var notifier = new ChangeNotifier();
            using ChangeReader reader = notifier.Subscribe();
            using (var first = new SqliteConnection(connectionString))
            {
                first.Open();
                SqliteChangeCapture stale = first.CaptureChanges(notifier);
                first.Close(); // stops the capture; the native connection goes back to the pool with the hooks still set
                Assert.That(stale.IsCapturing, Is.False);
            }

            var logger = new ListLogger();
            using var second = new SqliteConnection(connectionString);
            second.Open();
            using SqliteChangeCapture capture = second.CaptureChanges(notifier, new SqliteChangeCaptureOptions { Logger = logger });
            using (SqliteCommand command = second.CreateCommand())
            {
                command.CommandText = "CREATE TABLE IF NOT EXISTS t (v INTEGER); INSERT INTO t VALUES (1)";
                command.ExecuteNonQuery();
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(logger.Entries.Select(e => e.EventName), Has.No.Member("HookReplaced"));
                Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
                Assert.That(reader.TryRead(out _), Is.False, "published once, by the live capture only");
                Assert.That(change!.Table, Is.EqualTo("t"));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void CaptureChanges_HooksSetByOtherCode_AreStillReported()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        SQLitePCL.raw.sqlite3_commit_hook(connection.Handle, static _ => 0, null);

        var logger = new ListLogger();
        using SqliteChangeCapture capture = connection.CaptureChanges(notifier, new SqliteChangeCaptureOptions { Logger = logger });

        Assert.That(logger.Entries.Select(e => e.EventName), Has.Member("HookReplaced"));
    }

    [Test]
    public void CompletedNotifier_WithReaderStillRegistered_NoRowIsRead()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        harness.Notifier.Complete();

        harness.Execute("INSERT INTO t VALUES (1), (2)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Capture.RowsSerialized, Is.Zero);
            Assert.That(harness.Capture.RowsSkipped, Is.EqualTo(2));
            Assert.That(harness.Capture.Errors, Is.Zero);
        }
    }
}
