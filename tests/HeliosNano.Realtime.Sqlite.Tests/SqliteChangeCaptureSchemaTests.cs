namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>
/// Column names and types after a rolled-back schema change (review finding 5): SQLite hands out a rolled-back
/// schema_version number again, so a cache keyed on it alone would describe a schema that never committed.
/// </summary>
public class SqliteChangeCaptureSchemaTests
{
    [Test]
    public void RolledBackAddColumn_ThenAnotherWithTheSameCount_UsesTheRealColumns()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x')");
        harness.Execute("BEGIN; ALTER TABLE t ADD COLUMN c INTEGER; INSERT INTO t VALUES (2, 'x', 5); ROLLBACK");

        harness.Execute("ALTER TABLE t ADD COLUMN d TEXT");
        harness.Execute("INSERT INTO t VALUES (3, 'y', 'z')");

        ChangeEvent last = harness.Drain()[^1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(CaptureHarness.Record(last), Is.EqualTo("""{"a":3,"b":"y","d":"z"}"""));
            Assert.That(last.Columns.Select(c => $"{c.Name}:{c.TypeName}"), Is.EqualTo(new[] { "a:int8", "b:text", "d:text" }));
        }
    }

    [Test]
    public void RollbackToOverAddColumn_ThenAnotherAddColumn_NeverPublishesTheRolledBackName()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");

        harness.Execute("BEGIN; SAVEPOINT sp; ALTER TABLE t ADD COLUMN secret INTEGER; INSERT INTO t VALUES (1, 'a', 7); ROLLBACK TO sp");
        harness.Execute("ALTER TABLE t ADD COLUMN note TEXT; INSERT INTO t VALUES (2, 'b', 'hello'); RELEASE sp; COMMIT");

        List<ChangeEvent> changes = harness.Drain();
        Assert.That(changes.Select(CaptureHarness.Record), Is.EqualTo(new[] { """{"id":2,"v":"b","note":"hello"}""" }));
        harness.AssertReplayMatches("t");
    }

    [Test]
    public void RolledBackDdlTransaction_ThenDdlInCommittedTransaction_UsesTheRealColumns()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')");

        harness.Execute("BEGIN; ALTER TABLE t ADD COLUMN c INTEGER; INSERT INTO t VALUES (2, 'b', 3); ROLLBACK");
        harness.Execute("BEGIN; ALTER TABLE t ADD COLUMN e TEXT; INSERT INTO t VALUES (4, 'c', 'e'); COMMIT");

        Assert.That(harness.Drain()[^1].Columns.Select(c => c.Name), Is.EqualTo(new[] { "id", "v", "e" }));
    }
}
