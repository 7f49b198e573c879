namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>
/// A transaction too large to buffer (review finding 8) is never published in part: readers are told what they missed.
/// The limit is an option, so a few kilobytes stand in for the gigabytes of the real case.
/// </summary>
public class SqliteChangeCaptureBufferTests
{
    private static readonly SqliteChangeCaptureOptions s_smallBuffer = new() { MaxBufferedBytes = 16 * 1024 };

    [Test]
    public void TransactionOverTheLimit_PublishesNoneOfItsRows_AndReportsEachTableAndKindLost()
    {
        using var harness = new CaptureHarness(options: s_smallBuffer);
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER PRIMARY KEY)");
        harness.Execute("INSERT INTO t VALUES (0, 'before')");
        harness.Drain();

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO u VALUES (1)");
        harness.Execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT i, printf('%.500c', 'x') FROM n");
        harness.Execute("UPDATE t SET v = 'small' WHERE id = 0");
        harness.Execute("COMMIT");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty, "not published in part");
            Assert.That(harness.Capture.ChangesLost, Is.EqualTo(3), "u insert, t insert, t update");
            Assert.That(harness.Reader.Missed, Is.EqualTo(3), "the reader is told it missed changes of those tables");
            Assert.That(harness.Capture.Errors, Is.Zero);
        }

        harness.Execute("INSERT INTO u VALUES (2)");
        Assert.That(harness.Drain(), Has.Count.EqualTo(1), "the next transaction is buffered again");
    }

    [Test]
    public void TransactionOverTheLimit_RolledBack_ReportsNothing()
    {
        using var harness = new CaptureHarness(options: s_smallBuffer);
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");

        harness.Execute("BEGIN");
        harness.Execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT i, printf('%.500c', 'x') FROM n");
        harness.Execute("ROLLBACK");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty);
            Assert.That(harness.Capture.ChangesLost, Is.Zero);
            Assert.That(harness.Reader.Missed, Is.Zero);
            Assert.That(harness.Capture.TransactionsRolledBack, Is.EqualTo(1));
        }
    }

    [Test]
    public void SingleRowOverTheLimit_InAutocommit_IsReportedLost()
    {
        using var harness = new CaptureHarness(options: s_smallBuffer);
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)");

        harness.Execute("INSERT INTO t VALUES (1, zeroblob(20000))");
        harness.Execute("INSERT INTO t VALUES (2, zeroblob(10))");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain().Select(c => c.ParseRecord()!.RootElement.GetProperty("id").GetInt32()), Is.EqualTo(new[] { 2 }));
            Assert.That(harness.Capture.ChangesLost, Is.EqualTo(1));
            Assert.That(harness.Reader.Missed, Is.EqualTo(1));
        }
    }

    [Test]
    public void TransactionOverTheLimit_OnlyReadersOfTheTouchedTablesAreTold()
    {
        using var harness = new CaptureHarness(ChangeFilter.For("public", "t"), options: s_smallBuffer);
        using ChangeReader other = harness.Notifier.Subscribe(ChangeFilter.For("public", "u"));
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER PRIMARY KEY)");

        harness.Execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT i, printf('%.500c', 'x') FROM n");
        harness.Execute("INSERT INTO u VALUES (1)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty);
            Assert.That(harness.Reader.Missed, Is.EqualTo(1), "one lost INSERT marker for t");
            Assert.That(other.TryRead(out ChangeEvent? change), Is.True);
            Assert.That(change!.Table, Is.EqualTo("u"));
            Assert.That(other.Missed, Is.Zero, "u's reader is not told about t");
        }
    }

    [Test]
    public void Options_MaxBufferedBytes_RejectsZero()
    {
        Assert.That(() => new SqliteChangeCaptureOptions { MaxBufferedBytes = 0 }, Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
