using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>
/// The capture's savepoint stack must change only when SQLite's did (review finding 4), and a capture cannot start
/// inside a transaction whose earlier savepoints and changes it never saw (finding 6).
/// </summary>
public class SqliteChangeCaptureSavepointTests
{
    [Test]
    public void ReleaseFailsOnDeferredForeignKey_ThenRollbackTo_PublishesNothing()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
            """);

        harness.Execute("SAVEPOINT a");
        harness.Execute("INSERT INTO child VALUES (1, 42)");
        Assert.That(() => harness.Execute("RELEASE a"), Throws.TypeOf<SqliteException>(), "the commit fails: a stays open");
        harness.Execute("ROLLBACK TO a");
        harness.Execute("RELEASE a");

        harness.AssertReplayMatches("child");
        Assert.That(harness.Received, Is.Empty);
    }

    [Test]
    public void ReleaseRefusedWhileWriteStatementPending_ThenRollbackToSavepoint_PublishesNothing()
    {
        // SQLITE_BUSY is retried until the command timeout: keep it short.
        using var harness = new CaptureHarness(connectionString: "Data Source=:memory:;Default Timeout=1");
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            transaction.Save("s");
            harness.Execute("INSERT INTO t VALUES (1)");
            using (SqliteDataReader pending = harness.ExecuteReader("INSERT INTO t VALUES (2), (3) RETURNING id"))
            {
                Assert.That(pending.Read(), Is.True);
                Assert.That(() => transaction.Release("s"), Throws.TypeOf<SqliteException>(), "SQL statements in progress");
            }

            transaction.Rollback("s");
            transaction.Commit();
        }

        harness.AssertReplayMatches("t");
        Assert.That(harness.Received, Is.Empty);
    }

    [Test]
    public void RollbackToNameDifferingInNonAsciiCase_FailsAndKeepsTheChanges()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");

        harness.Execute("BEGIN");
        harness.Execute("SAVEPOINT \"É\"");
        harness.Execute("INSERT INTO t VALUES (1)");
        Assert.That(() => harness.Execute("ROLLBACK TO \"é\""), Throws.TypeOf<SqliteException>(), "SQLite folds ASCII letters only");
        harness.Execute("SAVEPOINT \"Ab\"");
        harness.Execute("INSERT INTO t VALUES (2)");
        harness.Execute("ROLLBACK TO \"aB\""); // ASCII letters do fold
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t");
        Assert.That(harness.Received, Has.Count.EqualTo(1));
    }

    [Test]
    public void RollbackToUnknownSavepoint_FailsAndKeepsTheChanges()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");

        harness.Execute("BEGIN; SAVEPOINT a; INSERT INTO t VALUES (1)");
        Assert.That(() => harness.Execute("ROLLBACK TO b"), Throws.TypeOf<SqliteException>());
        Assert.That(() => harness.Execute("RELEASE b"), Throws.TypeOf<SqliteException>());
        harness.Execute("RELEASE a; COMMIT");

        harness.AssertReplayMatches("t");
    }

    [Test]
    public void SavepointStatementsInsideTriggerlessTransaction_ReleaseInnerThenRollbackOuter_DropsBoth()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");

        harness.Execute("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT outer_sp; INSERT INTO t VALUES (2); SAVEPOINT inner_sp; INSERT INTO t VALUES (3)");
        harness.Execute("RELEASE inner_sp; ROLLBACK TO outer_sp; INSERT INTO t VALUES (4); COMMIT");

        harness.AssertReplayMatches("t");
        Assert.That(harness.Received, Has.Count.EqualTo(2));
    }

    [Test]
    public void CaptureChanges_InsideOpenTransaction_Throws()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY); BEGIN; SAVEPOINT a";
            command.ExecuteNonQuery();
        }

        Assert.That(() => connection.CaptureChanges(notifier), Throws.InvalidOperationException.With.Message.Contains("open transaction"));

        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "COMMIT";
            command.ExecuteNonQuery();
        }

        using SqliteChangeCapture capture = connection.CaptureChanges(notifier);
        Assert.That(capture.IsCapturing, Is.True, "after the transaction ends the capture starts");
    }

    [Test]
    public void CaptureChanges_InsideSqliteTransaction_Throws()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using SqliteTransaction transaction = connection.BeginTransaction();

        Assert.That(() => connection.CaptureChanges(notifier), Throws.InvalidOperationException);
    }
}
