using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>
/// Which statement's changes SQLite undid (review findings 1, 2 and 10): a change is dropped only if SQLite really undid
/// it, never because some other statement's <c>sqlite3_changes()</c> was 0. Each test replays the published changes
/// and compares them with the tables.
/// </summary>
public class SqliteChangeCaptureStatementTests
{
    [TestCase("UPDATE items SET qty = 10 WHERE id = $id AND qty = 0", TestName = "ReaderLoop_LastWriteChangedNoRow_PublishesEveryWrite(UPDATE)")]
    [TestCase("DELETE FROM items WHERE id = $id AND qty = 0 AND id > 100", TestName = "ReaderLoop_LastWriteChangedNoRow_PublishesEveryWrite(zero-row DELETE)")]
    public void ReaderLoop_LastWriteChangedNoRow_PublishesEveryWrite(string secondWrite)
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER); CREATE TABLE log (item_id INTEGER)");
        harness.Execute("INSERT INTO items VALUES (1, 5), (2, 0), (3, 7)");

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            using (SqliteDataReader reader = harness.ExecuteReader("SELECT id FROM items ORDER BY id"))
            {
                while (reader.Read())
                {
                    long id = reader.GetInt64(0);
                    Execute(harness, "INSERT INTO log VALUES ($id)", id);
                    Execute(harness, secondWrite, id); // the last one (id 3) changes no row
                }
            }

            transaction.Commit();
        }

        harness.AssertReplayMatches("items", "log");
        Assert.That(harness.Capture.ChangesDiscarded, Is.Zero);
    }

    [Test]
    public void ReaderLoop_FailingWriteInside_DropsOnlyThatWrite()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE items (id INTEGER PRIMARY KEY); CREATE TABLE log (item_id INTEGER PRIMARY KEY)");
        harness.Execute("INSERT INTO items VALUES (1), (2), (3)");

        harness.Execute("BEGIN");
        using (SqliteDataReader reader = harness.ExecuteReader("SELECT id FROM items ORDER BY id"))
        {
            while (reader.Read())
            {
                Execute(harness, "INSERT INTO log VALUES ($id)", reader.GetInt64(0));
                // a two-row insert whose second row collides: SQLite undoes the whole statement, row 100 + id included
                Assert.That(() => Execute(harness, "INSERT INTO log VALUES (100 + $id), ($id)", reader.GetInt64(0)), Throws.TypeOf<SqliteException>());
            }
        }

        harness.Execute("COMMIT");

        harness.AssertReplayMatches("log");
        Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(3));
    }

    [Test]
    public void InsteadOfTriggersOnView_PublishTheBaseTableChanges()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE base (id INTEGER PRIMARY KEY, v TEXT);
            CREATE VIEW vw AS SELECT id, v FROM base;
            CREATE TRIGGER vw_insert INSTEAD OF INSERT ON vw BEGIN INSERT INTO base VALUES (new.id, new.v); END;
            CREATE TRIGGER vw_update INSTEAD OF UPDATE ON vw BEGIN UPDATE base SET v = new.v WHERE id = old.id; END;
            CREATE TRIGGER vw_delete INSTEAD OF DELETE ON vw BEGIN DELETE FROM base WHERE id = old.id; END;
            """);

        harness.Execute("INSERT INTO vw VALUES (1, 'via view'), (2, 'via view')");
        harness.Execute("UPDATE vw SET v = 'updated via view' WHERE id = 1");
        harness.Execute("DELETE FROM vw WHERE id = 2");
        harness.Execute("BEGIN; INSERT INTO vw VALUES (3, 'in txn via view'); UPDATE vw SET v = 'again' WHERE id = 3; COMMIT");
        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO vw VALUES (4, 'SqliteTransaction')");
            transaction.Commit();
        }

        harness.AssertReplayMatches("base");
        Assert.That(harness.Drain(), Is.Empty);
        Assert.That(harness.Received.Count(c => c.Table == "base"), Is.EqualTo(7));
    }

    [Test]
    public void InsteadOfTrigger_FailingAfterItsWrites_DropsThem()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE base (id INTEGER PRIMARY KEY, v TEXT);
            CREATE VIEW vw AS SELECT id, v FROM base;
            CREATE TRIGGER vw_insert INSTEAD OF INSERT ON vw
            BEGIN
                INSERT INTO base VALUES (new.id, new.v);
                SELECT RAISE(ABORT, 'refused') WHERE new.v = 'bad';
            END;
            """);

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO vw VALUES (1, 'good')");
        Assert.That(() => harness.Execute("INSERT INTO vw VALUES (2, 'fine'), (3, 'bad')"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("base");
        Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(2));
    }

    [Test]
    public void BeforeTriggerWrites_RowThenIgnored_ArePublished()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
            CREATE TABLE attempts (n INTEGER PRIMARY KEY, v TEXT);
            CREATE TRIGGER t_attempt BEFORE INSERT ON t BEGIN INSERT INTO attempts (v) VALUES (new.v); END;
            """);

        harness.Execute("INSERT INTO t VALUES (1, 'first')");
        harness.Execute("INSERT OR IGNORE INTO t VALUES (1, 'dup ignored')");
        harness.Execute("INSERT INTO t VALUES (1, 'dup upsert') ON CONFLICT DO NOTHING");
        harness.Execute("BEGIN");
        harness.Execute("INSERT OR IGNORE INTO t VALUES (1, 'dup in txn')");
        harness.Execute("INSERT INTO t VALUES (1, 'dup upsert in txn') ON CONFLICT DO NOTHING");
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t", "attempts");
        Assert.That(harness.Capture.ChangesDiscarded, Is.Zero);
    }

    [Test]
    public void BeforeTriggerWrites_RowThenFailsWithAbort_AreDropped()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
            CREATE TABLE attempts (n INTEGER PRIMARY KEY, v TEXT);
            CREATE TRIGGER t_attempt BEFORE INSERT ON t BEGIN INSERT INTO attempts (v) VALUES (new.v); END;
            INSERT INTO t VALUES (1, 'first');
            """);

        harness.Execute("BEGIN");
        Assert.That(() => harness.Execute("INSERT INTO t VALUES (1, 'duplicate')"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t", "attempts");
        Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(1));
    }

    [Test]
    public void BeforeTriggerWrites_RowThenFailsWithFail_AreKept()
    {
        // OR FAIL keeps what the statement did before the failure, including the BEFORE trigger's write for the failing
        // row, although sqlite3_changes() is 0 (no row of t was inserted).
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
            CREATE TABLE attempts (n INTEGER PRIMARY KEY, v TEXT);
            CREATE TRIGGER t_attempt BEFORE INSERT ON t BEGIN INSERT INTO attempts (v) VALUES (new.v); END;
            INSERT INTO t VALUES (1, 'first');
            """);

        harness.Execute("BEGIN");
        Assert.That(() => harness.Execute("INSERT OR FAIL INTO t VALUES (1, 'duplicate')"), Throws.TypeOf<SqliteException>());
        Assert.That(() => harness.Execute("INSERT OR FAIL INTO t VALUES (2, 'kept'), (1, 'duplicate again')"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t", "attempts");
        Assert.That(harness.Capture.ChangesDiscarded, Is.Zero);
    }

    [Test]
    public void RaiseAbortAndRollback_InTransaction_UndoTheStatementOrTheTransaction()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
            CREATE TABLE audit (id INTEGER, v TEXT);
            CREATE TRIGGER t_check AFTER INSERT ON t
            BEGIN
                INSERT INTO audit VALUES (new.id, new.v);
                SELECT RAISE(ABORT, 'abort') WHERE new.v = 'abort';
                SELECT RAISE(ROLLBACK, 'rollback') WHERE new.v = 'rollback';
            END;
            """);

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO t VALUES (1, 'kept')");
        Assert.That(() => harness.Execute("INSERT INTO t VALUES (2, 'ok'), (3, 'abort')"), Throws.TypeOf<SqliteException>());
        harness.Execute("INSERT INTO t VALUES (4, 'kept')");
        harness.Execute("COMMIT");
        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO t VALUES (5, 'dropped with the transaction')");
        Assert.That(() => harness.Execute("INSERT INTO t VALUES (6, 'rollback')"), Throws.TypeOf<SqliteException>());

        harness.AssertReplayMatches("t", "audit");
    }

    [Test]
    public void WithoutRowIdTable_TriggerWritesThenIgnoredOrAborted_AreDecidedFromTheTable()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
            CREATE TABLE seen (k TEXT, n INTEGER, PRIMARY KEY (k, n)) WITHOUT ROWID;
            CREATE TRIGGER t_seen BEFORE INSERT ON t BEGIN INSERT INTO seen VALUES (new.k, (SELECT count(*) FROM seen)); END;
            INSERT INTO t VALUES ('a', 'first');
            """);

        harness.Execute("BEGIN");
        harness.Execute("INSERT OR IGNORE INTO t VALUES ('a', 'ignored')");
        Assert.That(() => harness.Execute("INSERT INTO t VALUES ('a', 'duplicate')"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t", "seen");
        Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(1));
    }

    [Test]
    public void DropTableWithForeignKeys_FailingAndSucceeding_MatchesTheTables()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE p (id INTEGER PRIMARY KEY);
            CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id));
            INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (10, 1);
            """);

        harness.Execute("BEGIN");
        // The implicit DELETE FROM p violates c's foreign key: SQLite undoes the DROP.
        Assert.That(() => harness.Execute("DROP TABLE p"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("p", "c");
    }

    [Test]
    public void UpdateAndDeleteFailingMidway_InSqliteTransaction_DropOnlyTheirRows()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty < 10));
            CREATE TABLE keep (id INTEGER PRIMARY KEY);
            CREATE TRIGGER t_delete BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'last') WHERE old.id = 3; END;
            INSERT INTO t VALUES (1, 1), (2, 5), (3, 8);
            """);

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO keep VALUES (1)");
            Assert.That(() => harness.Execute("UPDATE t SET qty = qty + 3"), Throws.TypeOf<SqliteException>(), "row 3 breaks the CHECK");
            Assert.That(() => harness.Execute("DELETE FROM t"), Throws.TypeOf<SqliteException>(), "the trigger refuses row 3");
            harness.Execute("UPDATE t SET qty = 0 WHERE id = 1");
            transaction.Commit();
        }

        harness.AssertReplayMatches("t", "keep");
        Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(4));
    }

    [Test]
    public void ReturningReaderReadPartly_InTransaction_PublishesEveryRowAtCommit()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE other (id INTEGER PRIMARY KEY)");

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            using (SqliteDataReader reader = harness.ExecuteReader("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c') RETURNING id"))
            {
                Assert.That(reader.Read(), Is.True);
                harness.Execute("INSERT INTO other VALUES (1)");
                harness.Execute("UPDATE other SET id = 2 WHERE id = 99"); // changes no row
            }

            transaction.Commit();
        }

        harness.AssertReplayMatches("t", "other");
        Assert.That(harness.Capture.ChangesDiscarded, Is.Zero);
    }

    [TestCase("INSERT INTO t VALUES (1, 'a'), (2, 'b') ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE excluded.v <> 'b'")]
    [TestCase("INSERT INTO t VALUES (1, 'same') ON CONFLICT DO NOTHING")]
    [TestCase("REPLACE INTO t VALUES (1, 'replaced')")]
    [TestCase("INSERT OR REPLACE INTO t VALUES (5, 'one')")]
    [TestCase("UPDATE OR REPLACE t SET id = 2 WHERE id = 1")]
    [TestCase("UPDATE t SET v = v WHERE id = 1")]
    [TestCase("DELETE FROM t WHERE id IN (SELECT id FROM t WHERE v = 'one')")]
    [TestCase("INSERT INTO t (v) SELECT v || '!' FROM t")]
    [TestCase("UPDATE t SET id = id + 100")]
    [TestCase("INSERT OR IGNORE INTO t VALUES (1, 'ignored'), (9, 'new')")]
    [TestCase("INSERT OR FAIL INTO t VALUES (7, 'kept'), (1, 'fails')")]
    [TestCase("INSERT OR ABORT INTO t VALUES (7, 'undone'), (1, 'fails')")]
    [TestCase("UPDATE OR FAIL t SET v = 'one' WHERE id >= 1")]
    [TestCase("INSERT INTO t VALUES (8, 'x') RETURNING id")]
    public void StatementInsideTransaction_WithOrWithoutFailure_MatchesTheTable(string sql)
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
            CREATE TABLE log (n INTEGER PRIMARY KEY, what TEXT);
            CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log (what) VALUES ('ins ' || new.id); END;
            CREATE TRIGGER t_del BEFORE DELETE ON t BEGIN INSERT INTO log (what) VALUES ('del ' || old.id); END;
            INSERT INTO t VALUES (1, 'one'), (3, 'three');
            """);

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO t VALUES (4, 'four')");
        try
        {
            harness.Execute(sql);
        }
        catch (SqliteException)
        {
            // a constraint failure is part of some cases: what counts is that the events match what stayed
        }

        harness.Execute("COMMIT");

        harness.AssertReplayMatches("t", "log");
    }

    [Test]
    public void FunctionWritingOnTheSameConnection_FromReaderAndFromFailingInsert_MatchesTheTables()
    {
        // Statements nested in another one: SQLite's statement savepoint of the outer statement covers the nested
        // writes, so they stand or fall with it; under a read-only outer statement they always stand.
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE items (id INTEGER PRIMARY KEY); CREATE TABLE copy (id INTEGER PRIMARY KEY); CREATE TABLE log (id INTEGER)");
        harness.Execute("INSERT INTO items VALUES (1), (2)");
        harness.Connection.CreateFunction("logit", (long id) =>
        {
            Execute(harness, "INSERT INTO log VALUES ($id)", id);
            return id;
        });

        harness.Execute("BEGIN");
        using (SqliteDataReader reader = harness.ExecuteReader("SELECT logit(id) FROM items"))
        {
            while (reader.Read())
            {
            }
        }

        harness.Execute("INSERT INTO copy VALUES (1)");
        Assert.That(() => harness.Execute("INSERT INTO copy SELECT logit(id) + 10 * (id - 1) FROM items ORDER BY id DESC"), Throws.TypeOf<SqliteException>(), "id 1 is taken");
        harness.Execute("COMMIT");

        harness.AssertReplayMatches("copy", "log");
    }

    private static void Execute(CaptureHarness harness, string sql, long id)
    {
        using SqliteCommand command = harness.Connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    }
}
