using System.Text;
using System.Text.Unicode;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>How values reach the records: blob writes (review finding 3), large values (7, 13) and invalid UTF-8 in JSON (9).</summary>
public class SqliteChangeCaptureValueTests
{
    [Test]
    public void SqliteBlobWrite_InAutocommit_IsReportedLost_NeverAsDelete()
    {
        // The blob's commit comes when it is closed, where no query may run to read the new bytes.
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO files VALUES (1, zeroblob(4))");
        harness.Drain();

        using (var blob = new SqliteBlob(harness.Connection, "files", "data", 1))
        {
            blob.Write([1, 2, 3, 4]);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain(), Is.Empty, "no DELETE of a row that still exists");
            Assert.That(harness.Capture.ChangesLost, Is.EqualTo(1));
            Assert.That(harness.Reader.Missed, Is.EqualTo(1), "the reader is told it missed a change");
            Assert.That(harness.Capture.Errors, Is.Zero);
        }
    }

    [Test]
    public void SqliteBlobWrite_InTransaction_IsPublishedAsUpdateWithTheCommittedBytes()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, data BLOB); INSERT INTO files VALUES (1, 'a', zeroblob(4)), (2, 'b', zeroblob(4))");

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            using (var blob = new SqliteBlob(harness.Connection, "files", "data", 2))
            {
                blob.Write([9, 9]);
            }

            transaction.Commit();
        }

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Update }));
            Assert.That(CaptureHarness.Record(changes[2]), Is.EqualTo("""{"id":2,"name":"b","data":"\\x09090000"}"""));
            Assert.That(CaptureHarness.OldRecord(changes[2]), Is.EqualTo("""{"id":2,"name":"b","data":"\\x00000000"}"""));
            Assert.That(harness.Capture.ChangesLost, Is.Zero);
        }

        harness.AssertReplayMatches("files");
    }

    [Test]
    public void SqliteBlobWrite_InChunksAndBetweenStatements_IsOneUpdatePerRunOfWrites()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO files VALUES (1, zeroblob(1000)), (2, zeroblob(10))");
        harness.Drain();

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            using (var blob = new SqliteBlob(harness.Connection, "files", "data", 1))
            {
                for (int i = 0; i < 10; i++)
                {
                    blob.Write(Enumerable.Repeat((byte)(i + 1), 100).ToArray()); // one sqlite3_blob_write each
                }
            }

            using (var blob = new SqliteBlob(harness.Connection, "files", "data", 2))
            {
                blob.Write([7]);
            }

            harness.Execute("UPDATE files SET data = x'0102' WHERE id = 2");
            using (var blob = new SqliteBlob(harness.Connection, "files", "data", 2))
            {
                blob.Write([5]);
            }

            transaction.Commit();
        }

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Kind), Is.All.EqualTo(ChangeKind.Update));
            Assert.That(changes, Has.Count.EqualTo(4), "row 1 once, row 2's blob write, the UPDATE, row 2's blob write");
            Assert.That(harness.Capture.ChangesLost, Is.Zero);
        }

        harness.AssertReplayMatches("files");
    }

    [Test]
    public void SqliteBlobWrite_RolledBack_IsNotReported()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO files VALUES (1, zeroblob(4))");

        using (SqliteTransaction transaction = harness.Connection.BeginTransaction())
        {
            using (var blob = new SqliteBlob(harness.Connection, "files", "data", 1))
            {
                blob.Write([1]);
            }

            transaction.Rollback();
        }

        Assert.That(harness.Capture.ChangesLost, Is.Zero);
        harness.AssertReplayMatches("files");
    }

    [Test]
    public void Blob_LargerThanOneHexChunk_IsWrittenWhole()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)");
        byte[] data = new byte[100_003];
        new Random(7).NextBytes(data);
        using (SqliteCommand command = harness.Connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO b VALUES (1, $data), (2, x''), (3, x'00ff')";
            command.Parameters.AddWithValue("$data", data);
            command.ExecuteNonQuery();
        }

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes[0].ParseRecord()!.RootElement.GetProperty("data").GetString(), Is.EqualTo("\\x" + Convert.ToHexStringLower(data)));
            Assert.That(CaptureHarness.Record(changes[1]), Is.EqualTo("""{"id":2,"data":"\\x"}"""));
            Assert.That(CaptureHarness.Record(changes[2]), Is.EqualTo("""{"id":3,"data":"\\x00ff"}"""));
        }

        harness.AssertReplayMatches("b");
    }

    [Test]
    public void LargeText_WithMultiByteCharacters_IsWrittenWhole()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
        string body = string.Concat(Enumerable.Repeat("añ€😀\"\\", 40_000)); // split points fall inside characters
        using (SqliteCommand command = harness.Connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO t VALUES (1, $body)";
            command.Parameters.AddWithValue("$body", body);
            command.ExecuteNonQuery();
        }

        Assert.That(harness.Drain().Single().ParseRecord()!.RootElement.GetProperty("body").GetString(), Is.EqualTo(body));
    }

    [Test]
    public void Blob_TooLargeForOneJsonToken_IsPublished()
    {
        // 90 MiB: its hex form (180 MiB) is over Utf8JsonWriter's 166,666,666-byte limit for one value, which made the
        // row vanish (counted in Errors only). Written in segments it is published whole.
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)");
        // One row per statement: the ring's byte budget (64 MiB by default) keeps only the newest of two such changes.
        harness.Execute("INSERT INTO big VALUES (1, zeroblob(90 * 1024 * 1024))");

        List<ChangeEvent> changes = harness.Drain();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes, Has.Count.EqualTo(1));
            Assert.That(changes[0].Record.Length, Is.EqualTo((90 * 1024 * 1024 * 2) + """{"id":1,"data":"\\x"}""".Length));
            Assert.That(harness.Capture.Errors, Is.Zero);
            Assert.That(harness.Capture.ChangesLost, Is.Zero);
        }
    }

    [Test]
    public void JsonColumn_WithInvalidUtf8_IsSanitisedIntoValidUtf8()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE TABLE d (id INTEGER PRIMARY KEY, doc JSON, ok JSON)");

        harness.Execute("""INSERT INTO d VALUES (1, CAST(x'7b2261223a2261ff227d' AS TEXT), '{"b":[1,2]}')""");

        ChangeEvent change = harness.Drain().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Utf8.IsValid(change.Record.Span), Is.True);
            Assert.That(change.ParseRecord()!.RootElement.GetProperty("doc").GetString(), Is.EqualTo("{\"a\":\"a\uFFFD\"}"));
            Assert.That(Encoding.UTF8.GetString(change.Record.Span), Does.Contain("""ok":{"b":[1,2]}"""), "valid JSON stays raw");
        }
    }

    [Test]
    public void ShadowTablesOfVirtualTables_AreNotPublished()
    {
        using var harness = new CaptureHarness();
        harness.Execute("CREATE VIRTUAL TABLE docs USING fts5(body); CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1)");
        harness.Execute("CREATE TABLE plain (id INTEGER PRIMARY KEY)");

        harness.Execute("INSERT INTO docs VALUES ('hello world'); UPDATE docs SET body = 'bye' WHERE rowid = 1; INSERT INTO boxes VALUES (1, 0, 1)");
        harness.Execute("INSERT INTO plain VALUES (1)");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(harness.Drain().Select(c => c.Table), Is.EqualTo(new[] { "plain" }));
            Assert.That(harness.Capture.Errors, Is.Zero);
        }
    }
}
