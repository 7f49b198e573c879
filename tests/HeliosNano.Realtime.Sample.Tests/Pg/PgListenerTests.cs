using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

/// <summary>Hostile and unsupported input on the PostgreSQL listener: an ErrorResponse or a clean close, and the server keeps serving.</summary>
public class PgListenerTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Message_TwoGigabyteLength_GetsFatal08P01AndClose(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(new byte[] { (byte)'Q', 0x7F, 0xFF, 0xFF, 0xFF, (byte)'S' }, cancellationToken);
        await AssertFatalThenCloseAsync(stream, "08P01", cancellationToken);
        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Message_Truncated_IsDroppedWithTheConnection(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using (NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken))
        {
            byte[] message = PgMessageReaderTests.Message('Q', "INSERT INTO nowhere VALUES (1);\0");
            await stream.WriteAsync(message.AsMemory(0, message.Length / 2), cancellationToken);
            stream.Socket.Shutdown(SocketShutdown.Send);
            Assert.That(await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken), Is.Empty, "closed without an answer");
        }

        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Message_UnknownType_GetsFatal08P01AndClose(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('!', "x"), cancellationToken);
        await AssertFatalThenCloseAsync(stream, "08P01", cancellationToken);
        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StartUp_GarbageFirst_GetsFatal08P01AndClose(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.ConnectAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), cancellationToken);
        await AssertFatalThenCloseAsync(stream, "08P01", cancellationToken);
        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Connections_AThousandOpenedAndDropped_LeaveTheServerServing(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        byte[] startup = PgMessageReaderTests.Startup("user\0postgres\0\0");
        for (int i = 0; i < 1000; i++)
        {
            using NetworkStream stream = await PgWire.ConnectAsync(server.PgPort, cancellationToken);
            if (i % 2 == 1)
            {
                await stream.WriteAsync(startup.AsMemory(0, i % startup.Length), cancellationToken);
            }
        }

        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Query_LargeResultNeverRead_DoesNotStopOthersAndEndsWith54000(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(
            PgMessageReaderTests.Message('Q', "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 400000) SELECT i, printf('%0100d', i) AS padding FROM r;\0"),
            cancellationToken);

        // This client reads nothing yet; HTTP and another PostgreSQL session are served meanwhile.
        await AssertStillServingAsync(server, cancellationToken);

        using var buffered = new BufferedStream(stream, 64 * 1024);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(buffered, 'Z', cancellationToken);
        (char _, byte[] error) = answer.Single(m => m.Type == 'E');
        Assert.That(PgWire.Field(error, 'C'), Is.EqualTo("54000"), PgWire.Field(error, 'M'));
        Assert.That(answer.Count(m => m.Type == 'D'), Is.LessThan(400000), "the answer was cut at the cap");
        Assert.That(answer[^1].Body, Is.EqualTo(new[] { (byte)'I' }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Query_PastSampleMaxResponseBytes_Gets54000LikePostSql(CancellationToken cancellationToken)
    {
        // The one setting caps both: POST /sql's JSON and the answer the PostgreSQL listener buffers.
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--Sample:MaxResponseBytes", "20000");
        const string Rows = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000) SELECT i, printf('%050d', i) AS padding FROM r";
        (int status, JsonElement body) = await server.PostSqlAsync(Rows, cancellationToken);
        Assert.That(status, Is.EqualTo(400), body.ToString());

        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', Rows + ";\0"), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        (char _, byte[] error) = answer.Single(m => m.Type == 'E');
        Assert.That(PgWire.Field(error, 'C'), Is.EqualTo("54000"));
        Assert.That(PgWire.Field(error, 'M'), Does.Contain("20000 bytes").And.Contain("Sample:MaxResponseBytes"));
        Assert.That(answer.Count(m => m.Type == 'D'), Is.InRange(100, 400), "cut near 20,000 bytes of ~60-byte rows");

        // A result under the cap still passes, on both paths.
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "SELECT 1 AS one;\0"), cancellationToken);
        Assert.That((await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken)).Select(m => m.Type), Is.EqualTo(new[] { 'T', 'D', 'C', 'Z' }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Session_IdleInsideBegin_IsClosedWith25P03AndRolledBackSoOthersGoOn(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--Sample:IdleInTransactionSessionTimeout", "00:00:00.300");
        await server.PostSqlAsync("CREATE TABLE t (x)", cancellationToken);
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "BEGIN; INSERT INTO t VALUES (1);\0"), cancellationToken);
        List<(char Type, byte[] Body)> begun = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(begun[^1].Body, Is.EqualTo(new[] { (byte)'T' }));

        // This request waits for the database the idle session holds, until the timeout ends that session.
        (int status, JsonElement body) = await server.PostSqlAsync("SELECT count(*) AS n FROM t", cancellationToken);
        Assert.That((status, body.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32()), Is.EqualTo((200, 0)), "the open transaction was rolled back");
        List<(char Type, byte[] Body)> ended = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(ended.Select(m => m.Type), Is.EqualTo(new[] { 'E' }), "FATAL, then the end of the stream");
        Assert.That((PgWire.Field(ended[0].Body, 'S'), PgWire.Field(ended[0].Body, 'C'), PgWire.Field(ended[0].Body, 'M')), Is.EqualTo(("FATAL", "25P03", "terminating connection due to idle-in-transaction timeout")));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Query_EmptyAndTransactionStates_AnswerAsPostgres(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "\0"), cancellationToken);
        Assert.That((await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken)).Select(m => m.Type), Is.EqualTo(new[] { 'I', 'Z' }));

        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "BEGIN; SELECT * FROM nowhere;\0"), cancellationToken);
        List<(char Type, byte[] Body)> failed = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(failed.Select(m => m.Type), Is.EqualTo(new[] { 'C', 'E', 'Z' }));
        Assert.That((PgWire.Field(failed[1].Body, 'C'), failed[2].Body[0]), Is.EqualTo(("42P01", (byte)'E')));

        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "SELECT 1;\0"), cancellationToken);
        List<(char Type, byte[] Body)> refused = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(PgWire.Field(refused[0].Body, 'C'), Is.EqualTo("25P02"));

        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "ROLLBACK;\0"), cancellationToken);
        List<(char Type, byte[] Body)> rolledBack = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That((Encoding.ASCII.GetString(rolledBack[0].Body), rolledBack[1].Body[0]), Is.EqualTo(("ROLLBACK\0", (byte)'I')));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CancelRequest_IsAcceptedAndClosed(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.ConnectAsync(server.PgPort, cancellationToken);
        var cancel = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(cancel, 16);
        BinaryPrimitives.WriteInt32BigEndian(cancel.AsSpan(4), PgMessageReader.CancelRequestCode);
        await stream.WriteAsync(cancel, cancellationToken);
        Assert.That(await stream.ReadAsync(new byte[1], cancellationToken), Is.Zero);
        await AssertStillServingAsync(server, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Scram_WrongProof_GetsFatal28P01(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--password", "s3cret");
        using NetworkStream stream = await PgWire.ConnectAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Startup("user\0postgres\0\0"), cancellationToken);
        List<(char Type, byte[] Body)> sasl = await PgWire.ReadUntilAsync(stream, 'R', cancellationToken);
        Assert.That(Encoding.ASCII.GetString(sasl[0].Body, 4, sasl[0].Body.Length - 4), Is.EqualTo("SCRAM-SHA-256\0\0"));

        string clientFirst = "n,,n=,r=clientnonce";
        byte[] first = [.. "SCRAM-SHA-256\0"u8, 0, 0, 0, (byte)clientFirst.Length, .. Encoding.ASCII.GetBytes(clientFirst)];
        await stream.WriteAsync(PgMessageReaderTests.Message('p', Encoding.Latin1.GetString(first)), cancellationToken);
        List<(char Type, byte[] Body)> serverFirst = await PgWire.ReadUntilAsync(stream, 'R', cancellationToken);
        string nonce = Encoding.ASCII.GetString(serverFirst[0].Body, 4, serverFirst[0].Body.Length - 4).Split(',')[0];
        string clientFinal = $"c=biws,{nonce},p={Convert.ToBase64String(new byte[32])}";
        await stream.WriteAsync(PgMessageReaderTests.Message('p', clientFinal), cancellationToken);

        List<(char Type, byte[] Body)> refused = await PgWire.ReadUntilAsync(stream, 'E', cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PgWire.Field(refused[^1].Body, 'S'), Is.EqualTo("FATAL"));
            Assert.That(PgWire.Field(refused[^1].Body, 'C'), Is.EqualTo("28P01"));
            Assert.That(PgWire.Field(refused[^1].Body, 'M'), Is.EqualTo("password authentication failed for user \"postgres\""));
        }

        Assert.That(await stream.ReadAsync(new byte[1], cancellationToken), Is.Zero, "then the connection is closed");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Query_WithNul_IsRefusedLikePostSql(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "CREATE TABLE a (x);\0CREATE TABLE b (x);\0"), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { 'E', 'Z' }));
        Assert.That(PgWire.Field(answer[0].Body, 'C'), Is.EqualTo("22021"));
        (_, JsonElement tables) = await server.PostSqlAsync("SELECT count(*) AS n FROM sqlite_schema", cancellationToken);
        Assert.That(tables.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("n").GetInt32(), Is.Zero, "nothing was executed");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Query_PastTheStatementTimeout_Gets57014AndTheServerGoesOn(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--pg-port", "0", "--Sample:StatementTimeout", "00:00:00.200");
        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(
            PgMessageReaderTests.Message('Q', "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r;\0"),
            cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        (char _, byte[] error) = answer.Single(m => m.Type == 'E');
        Assert.That(PgWire.Field(error, 'C'), Is.EqualTo("57014"), PgWire.Field(error, 'M'));
        await AssertStillServingAsync(server, cancellationToken);
    }

    [TestCase(null, null, "trust")]
    [TestCase(null, "pw", "scram-sha-256")]
    [TestCase("trust", "pw", "trust")]
    [TestCase("SCRAM-SHA-256", "pw", "scram-sha-256")]
    public void ResolveAuth_Options_GetTheMethod(string? auth, string? password, string expected) =>
        Assert.That(PgListener.ResolveAuth(new SampleOptions { Auth = auth, Password = password }), Is.EqualTo(expected));

    [TestCase("scram-sha-256", null)]
    [TestCase("md5", "pw")]
    public void ResolveAuth_Inconsistent_RefusesToStart(string auth, string? password) =>
        Assert.Throws<SampleStartupException>(() => PgListener.ResolveAuth(new SampleOptions { Auth = auth, Password = password }));

    internal static async Task AssertFatalThenCloseAsync(NetworkStream stream, string sqlState, CancellationToken cancellationToken)
    {
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { 'E' }), "one ErrorResponse, then the end of the stream");
        Assert.That((PgWire.Field(answer[0].Body, 'S'), PgWire.Field(answer[0].Body, 'C')), Is.EqualTo(("FATAL", sqlState)));
    }

    internal static async Task AssertStillServingAsync(SampleServer server, CancellationToken cancellationToken)
    {
        (int status, JsonElement body) = await server.PostSqlAsync("SELECT 1 AS one", cancellationToken);
        Assert.That((status, body.GetProperty("results")[0].GetProperty("rows")[0].GetProperty("one").GetInt32()), Is.EqualTo((200, 1)));

        using NetworkStream stream = await PgWire.StartAsync(server.PgPort, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Message('Q', "SELECT 1;\0"), cancellationToken);
        List<(char Type, byte[] Body)> answer = await PgWire.ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(answer.Select(m => m.Type), Is.EqualTo(new[] { 'T', 'D', 'C', 'Z' }));
    }
}
