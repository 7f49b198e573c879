using Microsoft.Data.Sqlite;
using static HeliosNano.Realtime.Sqlite.Tests.CaptureHarness;

namespace HeliosNano.Realtime.Sqlite.Tests;

public class SqliteChangeCaptureTests
{
    private const string CreateItems = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)";

    [Test]
    public void Insert_Autocommit_PublishesInsertWithRecord()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("INSERT INTO items (id, name, qty) VALUES (1, 'apple', 3)");

        List<ChangeEvent> changes = harness.Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes[0].Kind, Is.EqualTo(ChangeKind.Insert));
            Assert.That(changes[0].Schema, Is.EqualTo("public"));
            Assert.That(changes[0].Table, Is.EqualTo("items"));
            Assert.That(Record(changes[0]), Is.EqualTo("""{"id":1,"name":"apple","qty":3}"""));
            Assert.That(changes[0].HasOldRecord, Is.False);
            Assert.That(harness.Capture.TransactionsCommitted, Is.EqualTo(2), "CREATE TABLE and INSERT each commit");
            Assert.That(harness.Capture.ChangesPublished, Is.EqualTo(1));
            Assert.That(harness.Capture.Errors, Is.Zero);
        }
    }

    [Test]
    public void Update_And_Delete_CarryBeforeAndAfterImages()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("INSERT INTO items VALUES (1, 'apple', 3)");
        harness.Drain();

        harness.Execute("UPDATE items SET qty = 5, name = NULL WHERE id = 1");
        harness.Execute("DELETE FROM items WHERE id = 1");

        List<ChangeEvent> changes = harness.Drain();
        Assert.That(changes, Has.Count.EqualTo(2));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes[0].Kind, Is.EqualTo(ChangeKind.Update));
            Assert.That(Record(changes[0]), Is.EqualTo("""{"id":1,"name":null,"qty":5}"""));
            Assert.That(OldRecord(changes[0]), Is.EqualTo("""{"id":1,"name":"apple","qty":3}"""));
            Assert.That(changes[1].Kind, Is.EqualTo(ChangeKind.Delete));
            Assert.That(changes[1].HasRecord, Is.False);
            Assert.That(OldRecord(changes[1]), Is.EqualTo("""{"id":1,"name":null,"qty":5}"""));
        }
    }

    [Test]
    public void ExplicitTransaction_PublishesNothingUntilCommit_ThenAllInStatementOrder()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1)");
        harness.Execute("UPDATE items SET qty = 2 WHERE id = 1");
        harness.Execute("INSERT INTO items VALUES (2, 'b', 1)");
        Assert.That(harness.Drain(), Is.Empty, "nothing before COMMIT");
        harness.Execute("COMMIT");

        List<ChangeEvent> changes = harness.Drain();
        Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { ChangeKind.Insert, ChangeKind.Update, ChangeKind.Insert }));
        Assert.That(changes.Select(c => c.Sequence), Is.Ordered.Ascending);
    }

    [Test]
    public void SqliteTransaction_Commit_PublishesAndRollbackDrops()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO items VALUES (1, 'kept', 1)");
            Assert.That(harness.Drain(), Is.Empty);
            transaction.Commit();
        }

        Assert.That(harness.Drain().Select(Record), Is.EqualTo(new[] { """{"id":1,"name":"kept","qty":1}""" }));

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO items VALUES (2, 'dropped', 1)");
            transaction.Rollback();
        }

        using (harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO items VALUES (3, 'disposed', 1)");
        }

        harness.Execute("INSERT INTO items VALUES (4, 'after', 1)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain().Select(Record), Is.EqualTo(new[] { """{"id":4,"name":"after","qty":1}""" }));
            Assert.That(harness.Capture.TransactionsRolledBack, Is.EqualTo(2));
            Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(2));
        }
    }

    [Test]
    public void Rollback_Sql_DropsTheTransactionsChanges()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("BEGIN; INSERT INTO items VALUES (1, 'a', 1); DELETE FROM items; ROLLBACK");
        harness.Execute("INSERT INTO items VALUES (2, 'b', 1)");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(Record), Is.EqualTo(new[] { """{"id":2,"name":"b","qty":1}""" }));
            Assert.That(harness.Capture.TransactionsRolledBack, Is.EqualTo(1));
        }
    }

    [Test]
    public void Savepoints_RollbackToDropsOnlyTheChangesSinceTheSavepoint()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO items VALUES (1, 'before savepoints', 1)");
        harness.Execute("SAVEPOINT outer_sp");
        harness.Execute("INSERT INTO items VALUES (2, 'in outer', 1)");
        harness.Execute("SAVEPOINT \"Inner SP\"");
        harness.Execute("INSERT INTO items VALUES (3, 'in inner, rolled back', 1)");
        harness.Execute("UPDATE items SET qty = 99 WHERE id = 1");
        harness.Execute("ROLLBACK TRANSACTION TO SAVEPOINT \"inner sp\"");
        harness.Execute("INSERT INTO items VALUES (4, 'in inner after rollback', 1)");
        harness.Execute("RELEASE \"Inner SP\"");
        harness.Execute("RELEASE SAVEPOINT outer_sp");
        harness.Execute("COMMIT");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.ParseRecord()!.RootElement.GetProperty("id").GetInt32()), Is.EqualTo(new[] { 1, 2, 4 }));
            Assert.That(changes.Select(c => c.Kind), Is.All.EqualTo(ChangeKind.Insert));
            Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(2));
        }
    }

    [Test]
    public void Savepoints_ViaSqliteTransactionApi_RollbackToSavepointDropsTheNestedPart()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            harness.Execute("INSERT INTO items VALUES (1, 'kept', 1)");
            transaction.Save("first");
            harness.Execute("INSERT INTO items VALUES (2, 'dropped', 1)");
            transaction.Rollback("first");
            transaction.Save("second");
            harness.Execute("INSERT INTO items VALUES (3, 'kept', 1)");
            transaction.Release("second");
            transaction.Commit();
        }

        Assert.That(harness.Drain().Select(c => c.ParseRecord()!.RootElement.GetProperty("id").GetInt32()), Is.EqualTo(new[] { 1, 3 }));
    }

    [Test]
    public void Savepoint_OutsideTransaction_ActsAsTransaction()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("SAVEPOINT a; INSERT INTO items VALUES (1, 'x', 1); ROLLBACK TO a; INSERT INTO items VALUES (2, 'y', 1)");
        Assert.That(harness.Drain(), Is.Empty, "the savepoint keeps the transaction open");
        harness.Execute("RELEASE a");

        Assert.That(harness.Drain().Select(Record), Is.EqualTo(new[] { """{"id":2,"name":"y","qty":1}""" }));
    }

    [Test]
    public void MultiRowStatements_PublishOneChangePerRowInOrder()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Execute("INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
        harness.Execute("UPDATE items SET qty = qty * 10");
        harness.Execute("DELETE FROM items");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Kind), Is.EqualTo(
                Enumerable.Repeat(ChangeKind.Insert, 3).Concat(Enumerable.Repeat(ChangeKind.Update, 3)).Concat(Enumerable.Repeat(ChangeKind.Delete, 3))));
            Assert.That(Record(changes[4]), Is.EqualTo("""{"id":2,"name":"b","qty":20}"""));
            Assert.That(OldRecord(changes[4]), Is.EqualTo("""{"id":2,"name":"b","qty":2}"""));
            Assert.That(OldRecord(changes[8]), Is.EqualTo("""{"id":3,"name":"c","qty":30}"""), "DELETE without WHERE still reports rows");
        }
    }

    [Test]
    public void InsertSelect_PublishesEachCopiedRow()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("CREATE TABLE archive (id INTEGER PRIMARY KEY, name TEXT)");
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 5), (3, 'c', 9)");
        harness.Drain();

        harness.Execute("INSERT INTO archive (id, name) SELECT id, name FROM items WHERE qty > 1 ORDER BY id");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Table), Is.All.EqualTo("archive"));
            Assert.That(changes.Select(Record), Is.EqualTo(new[] { """{"id":2,"name":"b"}""", """{"id":3,"name":"c"}""" }));
        }
    }

    [Test]
    public void TriggerChanges_ArePublishedWithTheStatementThatFiredThem()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("CREATE TABLE audit (item_id INTEGER, action TEXT)");
        harness.Execute("""
            CREATE TRIGGER items_audit AFTER UPDATE ON items
            BEGIN
                INSERT INTO audit VALUES (new.id, 'qty ' || old.qty || ' to ' || new.qty);
                UPDATE audit SET action = upper(action) WHERE item_id = new.id;
            END
            """);
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1)");
        harness.Drain();

        harness.Execute("UPDATE items SET qty = 2 WHERE id = 1");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => $"{c.Kind} {c.Table}"), Is.EqualTo(new[] { "Update items", "Insert audit", "Update audit" }));
            Assert.That(Record(changes[2]), Is.EqualTo("""{"item_id":1,"action":"QTY 1 TO 2"}"""));
        }
    }

    [Test]
    public void FailedStatementInsideTransaction_DropsOnlyThatStatementsRows()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO items VALUES (1, 'kept', 1)");

        // Row 2 is inserted, then row 1 violates the primary key: SQLite undoes the whole statement, not the transaction.
        Assert.That(() => harness.Execute("INSERT INTO items VALUES (2, 'undone', 1), (1, 'duplicate', 1)"), Throws.TypeOf<SqliteException>());
        harness.Execute("COMMIT");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(Record), Is.EqualTo(new[] { """{"id":1,"name":"kept","qty":1}""" }));
            Assert.That(harness.Capture.ChangesDiscarded, Is.EqualTo(1));
        }
    }

    [Test]
    public void FailedAutocommitStatement_PublishesNothing()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1)");
        harness.Drain();

        Assert.That(() => harness.Execute("INSERT INTO items VALUES (2, 'undone', 1), (1, 'duplicate', 1)"), Throws.TypeOf<SqliteException>());

        Assert.That(harness.Drain(), Is.Empty);
    }

    [Test]
    public void FailedCommit_DeferredForeignKeyViolation_PublishesNothing()
    {
        using var harness = new CaptureHarness();
        harness.Execute("PRAGMA foreign_keys = ON");
        harness.Execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
        harness.Execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO child VALUES (1, 42)");
        Assert.That(() => harness.Execute("COMMIT"), Throws.TypeOf<SqliteException>().With.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(19));
        Assert.That(harness.Drain(), Is.Empty, "the commit failed: the transaction is still open");

        harness.Execute("ROLLBACK");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty);
            Assert.That(harness.Capture.TransactionsRolledBack, Is.EqualTo(1));
        }
    }

    [Test]
    public void FailedCommit_ThenFixedAndCommitted_PublishesEverything()
    {
        using var harness = new CaptureHarness();
        harness.Execute("PRAGMA foreign_keys = ON");
        harness.Execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
        harness.Execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");

        harness.Execute("BEGIN");
        harness.Execute("INSERT INTO child VALUES (1, 42)");
        Assert.That(() => harness.Execute("COMMIT"), Throws.TypeOf<SqliteException>());
        harness.Execute("INSERT INTO parent VALUES (42)");
        harness.Execute("COMMIT");

        Assert.That(harness.Drain().Select(c => c.Table), Is.EqualTo(new[] { "child", "parent" }));
    }

    [Test]
    public void FailedCommit_Busy_PublishesOnlyOnceTheRetriedCommitSucceeds()
    {
        // Rollback-journal mode: a reader's SHARED lock makes the writer's COMMIT fail with SQLITE_BUSY. The transaction
        // stays open (more rows may join it); the retried COMMIT succeeds once the reader is done.
        string directory = Directory.CreateTempSubdirectory("helios-sqlite-").FullName;
        string connectionString = $"Data Source={Path.Combine(directory, "busy.db")};Pooling=False;Default Timeout=1";
        try
        {
            using var notifier = new ChangeNotifier();
            using var reader = new SqliteConnection(connectionString);
            using var writer = new SqliteConnection(connectionString);
            reader.Open();
            writer.Open();
            using SqliteChangeCapture capture = writer.CaptureChanges(notifier);
            using ChangeReader changes = notifier.Subscribe();
            Execute(writer, "PRAGMA journal_mode = DELETE; CREATE TABLE t (v INTEGER)");

            Execute(reader, "BEGIN; SELECT count(*) FROM t");   // holds a SHARED lock until COMMIT
            Execute(writer, "BEGIN; INSERT INTO t VALUES (1)");
            Assert.That(() => Execute(writer, "COMMIT"), Throws.TypeOf<SqliteException>().With.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(5));
            Assert.That(() => Execute(writer, "INSERT INTO t VALUES (2)"), Throws.Nothing, "the transaction is still open");
            Assert.That(changes.TryRead(out _), Is.False, "the commit failed: nothing published");

            Execute(reader, "COMMIT");
            Execute(writer, "COMMIT");

            var published = new List<string>();
            while (changes.TryRead(out ChangeEvent? change))
            {
                published.Add(Record(change));
            }

            Assert.That(published, Is.EqualTo(new[] { """{"v":1}""", """{"v":2}""" }));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void FailedAutocommit_Busy_PublishesNothing()
    {
        string directory = Directory.CreateTempSubdirectory("helios-sqlite-").FullName;
        string connectionString = $"Data Source={Path.Combine(directory, "busy.db")};Pooling=False;Default Timeout=1";
        try
        {
            using var notifier = new ChangeNotifier();
            using var reader = new SqliteConnection(connectionString);
            using var writer = new SqliteConnection(connectionString);
            reader.Open();
            writer.Open();
            using SqliteChangeCapture capture = writer.CaptureChanges(notifier);
            using ChangeReader changes = notifier.Subscribe();
            Execute(writer, "PRAGMA journal_mode = DELETE; CREATE TABLE t (v INTEGER)");

            Execute(reader, "BEGIN; SELECT count(*) FROM t");
            Assert.That(() => Execute(writer, "INSERT INTO t VALUES (1)"), Throws.TypeOf<SqliteException>());
            Execute(reader, "COMMIT");

            using (Assert.EnterMultipleScope())
            {
                Assert.That(changes.TryRead(out _), Is.False);
                Assert.That(capture.TransactionsRolledBack, Is.GreaterThanOrEqualTo(1), "Microsoft.Data.Sqlite retries on SQLITE_BUSY: each try is rolled back");
                Assert.That(capture.ChangesPublished, Is.Zero);
                Assert.That(ExecuteScalar(writer, "SELECT count(*) FROM t"), Is.Zero, "SQLite rolled the row back");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long ExecuteScalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    [Test]
    public void Upsert_DoUpdate_PublishesAnUpdate()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1)");
        harness.Drain();

        harness.Execute("INSERT INTO items VALUES (1, 'a', 1) ON CONFLICT (id) DO UPDATE SET qty = qty + excluded.qty");

        List<ChangeEvent> changes = harness.Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        Assert.That(Record(changes[0]), Is.EqualTo("""{"id":1,"name":"a","qty":2}"""));
    }

    [Test]
    public void InsertReturning_ReadWithExecuteScalar_IsPublished()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);
        using SqliteCommand command = harness.Connection.CreateCommand();
        command.CommandText = "INSERT INTO items (name, qty) VALUES ('r1', 1), ('r2', 2) RETURNING id";

        object? id = command.ExecuteScalar();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.EqualTo(1L));
            Assert.That(harness.Drain().Select(Record), Is.EqualTo(new[] { """{"id":1,"name":"r1","qty":1}""", """{"id":2,"name":"r2","qty":2}""" }));
        }
    }

    [Test]
    public void UnwatchedTable_CausesNoRowWork()
    {
        using var harness = new CaptureHarness(ChangeFilter.For("public", "watched"));
        harness.Execute(CreateItems);
        harness.Execute("CREATE TABLE watched (id INTEGER PRIMARY KEY)");

        harness.Execute("WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 500) INSERT INTO items (name, qty) SELECT 'x', v FROM n");
        harness.Execute("UPDATE items SET qty = qty + 1");
        harness.Execute("DELETE FROM items");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Capture.RowsSerialized, Is.Zero);
            Assert.That(harness.Capture.RowsSkipped, Is.EqualTo(1500));
            Assert.That(harness.Drain(), Is.Empty);
        }

        harness.Execute("INSERT INTO watched VALUES (1)");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Capture.RowsSerialized, Is.EqualTo(1), "the same hook does serialize a watched table");
            Assert.That(harness.Drain(), Has.Count.EqualTo(1));
        }
    }

    [Test]
    public void Columns_MapDeclaredTypesAndValues()
    {
        using var harness = new CaptureHarness();
        harness.Execute("""
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), ratio REAL, paid BOOLEAN, qty INT, big BIGINT,
                small SMALLINT, note VARCHAR(20), created TIMESTAMP, created_tz TIMESTAMPTZ, day DATE, doc JSONB, bin BLOB,
                key UUID, weird GEOMETRY, untyped)
            """);

        harness.Execute("""
            INSERT INTO orders VALUES (7, 'Alice', 49.99, 0.5, 1, 3, 9007199254740993, 2, 'n"q', '2026-04-26 10:01:23',
                '2026-04-26T10:01:23Z', '2026-04-26', '{"a":[1,true]}', x'00ff10', 'c0ffee00-0000-0000-0000-000000000000', 'POINT', NULL)
            """);

        ChangeEvent change = harness.Drain().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(change.Columns.Select(c => $"{c.Name}:{c.TypeName}"), Is.EqualTo(new[]
            {
                "id:int4", "customer:text", "total:numeric", "ratio:float8", "paid:bool", "qty:int8", "big:int8", "small:int2",
                "note:text", "created:timestamp", "created_tz:timestamptz", "day:date", "doc:jsonb", "bin:bytea", "key:uuid",
                "weird:text", "untyped:text",
            }));
            Assert.That(Record(change), Is.EqualTo(string.Concat(
                """{"id":7,"customer":"Alice","total":49.99,"ratio":0.5,"paid":true,"qty":3,"big":9007199254740993,"small":2,""",
                """ "note":"n\u0022q","created":"2026-04-26 10:01:23","created_tz":"2026-04-26T10:01:23Z","day":"2026-04-26",""".TrimStart(),
                """ "doc":{"a":[1,true]},"bin":"\\x00ff10","key":"c0ffee00-0000-0000-0000-000000000000","weird":"POINT","untyped":null}""".TrimStart())));
        }
    }

    [Test]
    public void Boolean_FalseAndJsonText_AreTyped()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE flags (on_off BOOL, doc JSON, inf REAL)");

        harness.Execute("INSERT INTO flags VALUES (0, 'not json', 1e999)");

        Assert.That(Record(harness.Drain().Single()), Is.EqualTo("""{"on_off":false,"doc":"not json","inf":"Infinity"}"""));
    }

    [Test]
    public void SchemaChange_AddColumnAndRecreate_RefreshesColumns()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (a INTEGER, b TEXT)");
        harness.Execute("INSERT INTO t VALUES (1, 'x')");

        harness.Execute("ALTER TABLE t ADD COLUMN c BOOLEAN");
        harness.Execute("INSERT INTO t VALUES (2, 'y', 1)");
        harness.Execute("DROP TABLE t; CREATE TABLE t (p TEXT, q REAL, r INTEGER)");
        harness.Execute("INSERT INTO t VALUES ('z', 1.5, 3)");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(Record), Is.EqualTo(new[] { """{"a":1,"b":"x"}""", """{"a":2,"b":"y","c":true}""", """{"p":"z","q":1.5,"r":3}""" }));
            Assert.That(changes[2].Columns.Select(c => c.TypeName), Is.EqualTo(new[] { "text", "float8", "int8" }));
        }
    }

    [Test]
    public void GeneratedColumns_StoredAreReadAndVirtualAreNull()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, c INTEGER GENERATED ALWAYS AS (a * 3) STORED, d TEXT)");

        harness.Execute("INSERT INTO g (a, d) VALUES (1, 'z')");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Record(harness.Drain().Single()), Is.EqualTo("""{"a":1,"b":null,"c":3,"d":"z"}"""));
            Assert.That(harness.Capture.Errors, Is.Zero);
        }
    }

    [Test]
    public void WithoutRowIdTable_AndReplace_PublishDeleteThenInsert()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE w (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID");
        harness.Execute("INSERT INTO w VALUES ('x', 1)");

        harness.Execute("REPLACE INTO w VALUES ('x', 2)");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { ChangeKind.Insert, ChangeKind.Delete, ChangeKind.Insert }));
            Assert.That(OldRecord(changes[1]), Is.EqualTo("""{"k":"x","v":1}"""));
            Assert.That(Record(changes[2]), Is.EqualTo("""{"k":"x","v":2}"""));
        }
    }

    [Test]
    public void TempTables_AreNotCaptured()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TEMP TABLE scratch (v INTEGER)");

        harness.Execute("INSERT INTO scratch VALUES (1)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty);
            Assert.That(harness.Capture.RowsSkipped, Is.EqualTo(1));
        }
    }

    [Test]
    public void InternalTables_AreSkipped()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)");

        harness.Execute("INSERT INTO seq (v) VALUES ('a')");

        Assert.That(harness.Drain().Select(c => c.Table), Is.EqualTo(new[] { "seq" }), "sqlite_sequence and sqlite_schema changes are not published");
    }

    [Test]
    public void Options_SchemaAndTimeProvider_AreApplied()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 4, 26, 10, 1, 23, TimeSpan.Zero));
        using SqliteChangeCapture capture = connection.CaptureChanges(notifier, new SqliteChangeCaptureOptions { Schema = "app", TimeProvider = clock });
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("app", "t"));
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2)";
            command.ExecuteNonQuery();
        }

        Assert.That(reader.TryRead(out ChangeEvent? first), Is.True);
        Assert.That(reader.TryRead(out ChangeEvent? second), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(capture.Schema, Is.EqualTo("app"));
            Assert.That(first!.Schema, Is.EqualTo("app"));
            Assert.That(first.CommitTimestamp, Is.EqualTo(clock.Now));
            Assert.That(second!.CommitTimestamp, Is.EqualTo(clock.Now), "one timestamp per transaction");
        }
    }

    [Test]
    public void Options_NumericAsString_WritesNumericColumnsAsStringsWithTheirScale()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using SqliteChangeCapture capture = connection.CaptureChanges(notifier, new SqliteChangeCaptureOptions { NumericAsString = true });
        using ChangeReader reader = notifier.Subscribe();
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = """
                CREATE TABLE orders (total NUMERIC(10, 2), whole NUMERIC(5), free DECIMAL, ratio REAL, qty INTEGER, note NUMERIC);
                INSERT INTO orders VALUES (49.99, 7, 0.125, 0.5, 3, 'n/a'), (12.5, 8, 3, 1.5, 4, NULL)
                """;
            command.ExecuteNonQuery();
        }

        Assert.That(reader.TryRead(out ChangeEvent? first), Is.True);
        Assert.That(reader.TryRead(out ChangeEvent? second), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Record(first!), Is.EqualTo("""{"total":"49.99","whole":"7","free":"0.125","ratio":0.5,"qty":3,"note":"n/a"}"""));
            Assert.That(Record(second!), Is.EqualTo("""{"total":"12.50","whole":"8","free":"3","ratio":1.5,"qty":4,"note":null}"""));
        }
    }

    [Test]
    public void Dispose_StopsCapturing()
    {
        using var harness = new CaptureHarness();
        harness.Execute(CreateItems);

        harness.Capture.Dispose();
        harness.Execute("INSERT INTO items VALUES (1, 'a', 1)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Capture.IsCapturing, Is.False);
            Assert.That(harness.Drain(), Is.Empty);
        }

        using SqliteChangeCapture again = harness.Connection.CaptureChanges(harness.Notifier);
        harness.Execute("INSERT INTO items VALUES (2, 'b', 1)");
        Assert.That(harness.Drain(), Has.Count.EqualTo(1), "a new capture can start once the old one is disposed");
    }

    [Test]
    public void CloseConnection_StopsCapturing()
    {
        using var harness = new CaptureHarness();

        harness.Connection.Close();

        Assert.That(harness.Capture.IsCapturing, Is.False);
    }

    [Test]
    public void CaptureChanges_ClosedConnectionOrSecondCapture_Throws()
    {
        using var notifier = new ChangeNotifier();
        using var connection = new SqliteConnection("Data Source=:memory:");
        Assert.That(() => connection.CaptureChanges(notifier), Throws.InvalidOperationException);

        connection.Open();
        using SqliteChangeCapture capture = connection.CaptureChanges(notifier);
        Assert.That(() => connection.CaptureChanges(notifier), Throws.InvalidOperationException);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
