using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

/// <summary>The extended query protocol byte for byte: message order, row limits, errors up to Sync, and hostile Binds.</summary>
public class PgExtendedQueryWireTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task ParseBindDescribeExecuteSync_AnswersAsPostgres(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse(string.Empty, "SELECT $1::int4 + 1 AS n, $2 AS t", 23),
            PgWire.Bind(string.Empty, string.Empty, ["41", null]),
            PgWire.Describe('P', string.Empty),
            PgWire.Execute(string.Empty),
            PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', '2', 'T', 'D', 'C', 'Z' }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(answer[3].Body, Is.EqualTo(new byte[] { 0, 2, 0, 0, 0, 2, (byte)'4', (byte)'2', 0xFF, 0xFF, 0xFF, 0xFF }), "42 and NULL, in text");
            Assert.That(Encoding.ASCII.GetString(answer[4].Body), Is.EqualTo("SELECT 1\0"));
            Assert.That(answer[5].Body, Is.EqualTo(new[] { (byte)'I' }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Execute_WithARowLimit_SuspendsAndResumesThePortal(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse("five", "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5) SELECT i FROM r"),
            PgWire.Bind("cursor", "five", []),
            PgWire.Execute("cursor", 2),
            PgWire.Execute("cursor", 2),
            PgWire.Flush()), cancellationToken);
        List<(char Type, byte[] Body)> first = await PgWire.ReadUntilAsync(stream, 's', cancellationToken);
        List<(char Type, byte[] Body)> second = await PgWire.ReadUntilAsync(stream, 's', cancellationToken);
        await stream.WriteAsync(Concat(PgWire.Execute("cursor", 2), PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> last = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Select(m => m.Type), Is.EqualTo(new[] { '1', '2', 'D', 'D', 's' }));
            Assert.That(second.Select(m => m.Type), Is.EqualTo(new[] { 'D', 'D', 's' }));
            Assert.That(last.Select(m => m.Type), Is.EqualTo(new[] { 'D', 'C', 'Z' }));
            Assert.That(Encoding.ASCII.GetString(last[0].Body, 6, 1), Is.EqualTo("5"));
        }

        // The portal ended with its implicit transaction at Sync; the statement lives on.
        await stream.WriteAsync(Concat(PgWire.Execute("cursor"), PgWire.Sync(), PgWire.Bind("again", "five", []), PgWire.Execute("again", 1), PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> gone = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That((gone[0].Type, PgWire.Field(gone[0].Body, 'C')), Is.EqualTo(('E', "34000")));
        Assert.That((await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken)).Select(m => m.Type), Is.EqualTo(new[] { '2', 'D', 's', 'Z' }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task DescribeStatement_GivesParameterTypesThenRowDescriptionOrNoData(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, at TIMESTAMPTZ)", cancellationToken);
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse("s", "SELECT id, name, at FROM t WHERE id = $1 AND name = $2", 23),
            PgWire.Describe('S', "s"),
            PgWire.Parse("i", "INSERT INTO t (name) VALUES ($1)"),
            PgWire.Describe('S', "i"),
            PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', 't', 'T', '1', 't', 'n', 'Z' }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(answer[1].Body, Is.EqualTo(new byte[] { 0, 2, 0, 0, 0, 23, 0, 0, 0, 25 }), "int4 as given; the unspecified $2 as text");
            Assert.That(Encoding.ASCII.GetString(answer[2].Body), Does.Contain("id\0").And.Contain("name\0").And.Contain("at\0"));
            Assert.That(answer[4].Body, Is.EqualTo(new byte[] { 0, 1, 0, 0, 0, 25 }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Error_InAPipeline_IsReportedOnceAndTheRestIsSkippedUntilSync(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", cancellationToken);
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse(string.Empty, "INSERT INTO t (name) VALUES ($1)"),
            PgWire.Bind(string.Empty, string.Empty, ["undone"]),
            PgWire.Execute(string.Empty),
            PgWire.Parse(string.Empty, "SELEC 1"),
            PgWire.Bind(string.Empty, string.Empty, []),
            PgWire.Execute(string.Empty),
            PgWire.Parse(string.Empty, "INSERT INTO t (name) VALUES ('skipped')"),
            PgWire.Bind(string.Empty, string.Empty, []),
            PgWire.Execute(string.Empty),
            PgMessageReaderTests.Message('Q', "SELECT 'skipped too';\0"),
            PgWire.Sync(),
            PgWire.Parse(string.Empty, "SELECT count(*) FROM t"),
            PgWire.Bind(string.Empty, string.Empty, []),
            PgWire.Execute(string.Empty),
            PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> failed = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(failed.Select(m => m.Type), Is.EqualTo(new[] { '1', '2', 'C', '1', 'E', 'Z' }));
        Assert.That(PgWire.Field(failed[4].Body, 'C'), Is.EqualTo("42601"));
        List<(char Type, byte[] Body)> count = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(count.Select(m => m.Type), Is.EqualTo(new[] { '1', '2', 'D', 'C', 'Z' }));
        Assert.That(Encoding.ASCII.GetString(count[2].Body, 6, 1), Is.EqualTo("0"), "the batch's implicit transaction was rolled back");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Error_BeforeAFlush_IsSentWithoutWaitingForSync(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(PgWire.Parse(string.Empty, "SELECT * FROM nowhere"), PgWire.Bind(string.Empty, string.Empty, []), PgWire.Flush()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'E', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', 'E' }));
        await stream.WriteAsync(PgWire.Sync(), cancellationToken);
        Assert.That((await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken)).Select(m => m.Type), Is.EqualTo(new[] { 'Z' }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ReadyForQuery_ReportsTheTransactionStateAcrossBothProtocols(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        async Task<byte> StatusAfterAsync(byte[] messages)
        {
            await stream.WriteAsync(messages, cancellationToken);
            return (await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken))[^1].Body[0];
        }

        byte[] Extended(string sql) => Concat(PgWire.Parse(string.Empty, sql), PgWire.Bind(string.Empty, string.Empty, []), PgWire.Execute(string.Empty), PgWire.Sync());
        Assert.That(await StatusAfterAsync(Extended("BEGIN")), Is.EqualTo((byte)'T'));
        Assert.That(await StatusAfterAsync(Extended("CREATE TABLE t (x)")), Is.EqualTo((byte)'T'));
        Assert.That(await StatusAfterAsync(Extended("SELECT * FROM nowhere")), Is.EqualTo((byte)'E'));
        Assert.That(await StatusAfterAsync(Extended("SELECT 1")), Is.EqualTo((byte)'E'), "refused with 25P02");
        Assert.That(await StatusAfterAsync(PgMessageReaderTests.Message('Q', "ROLLBACK;\0")), Is.EqualTo((byte)'I'));
        (_, JsonElement tables) = await server.PostSqlAsync("SELECT count(*) AS n FROM sqlite_schema", cancellationToken);
        Assert.That(tables.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32(), Is.Zero, "the rolled-back CREATE TABLE is gone");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Bind_WrongParameterCount_GetsAnErrorAndTheSessionGoesOn(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse(string.Empty, "SELECT $1, $2"),
            PgWire.Bind(string.Empty, string.Empty, ["only one"]),
            PgWire.Execute(string.Empty),
            PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', 'E', 'Z' }));
        Assert.That((PgWire.Field(answer[1].Body, 'C'), PgWire.Field(answer[1].Body, 'M')), Is.EqualTo(("08P01", "bind message supplies 1 parameters, but prepared statement \"\" requires 2")));
        await PgListenerTests.AssertStillServingAsync(server, cancellationToken);
    }

    [TestCase('E', "34000")]
    [TestCase('D', "34000")]
    [TestCase('B', "26000")]
    [CancelAfter(30_000)]
    public async Task UnknownPortalOrStatement_GetsAnErrorThenReadyForQuery(char message, string sqlState, CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        byte[] unknown = message switch
        {
            'E' => PgWire.Execute("nowhere"),
            'D' => PgWire.Describe('P', "nowhere"),
            _ => PgWire.Bind(string.Empty, "nowhere", []),
        };
        await stream.WriteAsync(Concat(unknown, PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { 'E', 'Z' }));
        Assert.That(PgWire.Field(answer[0].Body, 'C'), Is.EqualTo(sqlState));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Bind_ParameterLengthPastTheMessage_GetsFatal08P01AndClose(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        byte[] bind = PgWire.Bind(string.Empty, string.Empty, [], [[1, 2, 3]], []);
        Assert.That(bind[11..15], Is.EqualTo(new byte[] { 0, 0, 0, 3 }), "the parameter's length");
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bind.AsSpan(11), 0x7FFF_FFF0); // now ~2 GB, in a 24-byte message
        await stream.WriteAsync(Concat(PgWire.Parse(string.Empty, "SELECT $1"), bind, PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', 'E' }), "ParseComplete, then FATAL and the end of the stream");
        Assert.That((PgWire.Field(answer[1].Body, 'S'), PgWire.Field(answer[1].Body, 'C')), Is.EqualTo(("FATAL", "08P01")));
        await PgListenerTests.AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Bind_BinaryParameterOfAnUnsupportedType_GetsAClear0A000(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        const int Interval = 1186;
        await stream.WriteAsync(Concat(
            PgWire.Parse(string.Empty, "SELECT $1", Interval),
            PgWire.Bind(string.Empty, string.Empty, [1], [new byte[16]], []),
            PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', 'E', 'Z' }));
        Assert.That(PgWire.Field(answer[1].Body, 'C'), Is.EqualTo("0A000"));
        Assert.That(PgWire.Field(answer[1].Body, 'M'), Does.Contain("OID 1186").And.Contain("text format"));
    }

    [TestCase("ATTACH DATABASE '/tmp/helios-pg-attach.db' AS other")]
    [TestCase("SELECT load_extension('/tmp/nothing')")]
    [TestCase("VACUUM INTO '/tmp/helios-pg-vacuum.db'")]
    [CancelAfter(30_000)]
    public async Task Statement_ReachingAnotherFile_IsRefusedAsOnPostSql(string sql, CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(PgWire.Parse(string.Empty, sql), PgWire.Bind(string.Empty, string.Empty, []), PgWire.Execute(string.Empty), PgWire.Sync()), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        // Refused at Bind (SQLite's authorizer denies the prepare) or, for load_extension, when it runs: never completed.
        Assert.That(answer.Select(m => m.Type).ToArray()[^2..], Is.EqualTo(new[] { 'E', 'Z' }));
        Assert.That(answer.Select(m => m.Type), Has.No.Member('C'));
        Assert.That(File.Exists("/tmp/helios-pg-attach.db") || File.Exists("/tmp/helios-pg-vacuum.db"), Is.False);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Batch_NeverSynced_IsEndedByTheIdleInTransactionTimeout(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--Sample:IdleInTransactionSessionTimeout", "00:00:00.300");
        await server.PostSqlAsync("CREATE TABLE t (x)", cancellationToken);
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Concat(
            PgWire.Parse(string.Empty, "INSERT INTO t VALUES (1)"),
            PgWire.Bind(string.Empty, string.Empty, []),
            PgWire.Execute(string.Empty),
            PgWire.Flush()), cancellationToken);

        // No Sync: the session holds the database (its implicit transaction is open) until the timeout ends it.
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { '1', '2', 'C', 'E' }));
        Assert.That((PgWire.Field(answer[3].Body, 'S'), PgWire.Field(answer[3].Body, 'C')), Is.EqualTo(("FATAL", "25P03")));
        (int status, JsonElement body) = await server.PostSqlAsync("SELECT count(*) AS n FROM t", cancellationToken);
        Assert.That((status, body.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32()), Is.EqualTo((200, 0)), "rolled back");
    }

    private static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];
}
