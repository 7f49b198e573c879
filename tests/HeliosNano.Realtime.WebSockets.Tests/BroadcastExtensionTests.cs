using System.Net.WebSockets;
using System.Text;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class BroadcastExtensionTests
{
    private const string Room = "realtime:room1";

    private static string JoinPayload(bool self = false, bool ack = false) =>
        $$$"""{"config":{"broadcast":{"ack":{{{(ack ? "true" : "false")}}},"self":{{{(self ? "true" : "false")}}}},"presence":{"key":"","enabled":false},"postgres_changes":[],"private":false}}""";

    private static async Task<TestClient> JoinAsync(RealtimeServer server, string query, string payload, CancellationToken ct)
    {
        TestClient client = await server.ConnectAsync(query, ct);
        Frame reply = await client.JoinAsync(Room, payload, "1", ct);
        Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text);
        return client;
    }

    /// <summary>Kind 3 with join_ref "1", ref <paramref name="ref"/>, the room topic, event cursor and JSON <paramref name="json"/>.</summary>
    private static byte[] Kind3(string @ref, string json, string userEvent = "cursor") =>
        [3, 1, (byte)@ref.Length, (byte)Room.Length, (byte)userEvent.Length, 0, 1, .. Encoding.UTF8.GetBytes("1" + @ref + Room + userEvent + json)];

    [Test]
    [CancelAfter(15_000)]
    public async Task TextPush_DefaultConfig_OthersGetItVerbatimSenderGetsNothing(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient sender = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await using TestClient v2 = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await using TestClient v1 = await JoinAsync(server, "?vsn=1.0.0", JoinPayload(), ct);

        await sender.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"cursor","payload":{"x":1},"extra":true}""", ct);
        Frame atV2 = (await v2.ReceiveAsync(ct))!;
        Frame atV1 = (await v1.ReceiveAsync(ct))!;
        List<Frame> atSender = await sender.HeartbeatAsync("hb", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atV2.Text, Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"type":"broadcast","event":"cursor","payload":{"x":1},"extra":true}]"""));
            Assert.That(atV1.Text, Is.EqualTo("""{"topic":"realtime:room1","event":"broadcast","payload":{"type":"broadcast","event":"cursor","payload":{"x":1},"extra":true},"ref":null}"""));
            Assert.That(atSender, Is.Empty, "self is false and ack is false: no echo, no reply");
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task TextPush_SelfAndAck_SenderGetsTheReplyAndItsOwnBroadcast(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient sender = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(self: true, ack: true), ct);

        await sender.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"e","payload":{}}""", ct);
        Frame reply = (await sender.ReceiveAsync(ct))!;
        Frame own = (await sender.ReceiveAsync(ct))!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Text, Is.EqualTo("""["1","2","realtime:room1","phx_reply",{"status":"ok","response":{}}]"""));
            Assert.That(own.Text, Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"type":"broadcast","event":"e","payload":{}}]"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task BinaryPush_EachReceiverGetsItsFormat_Kind4OnlyToClientsThatSpeakIt(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient sender = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(ack: true), ct);
        await using TestClient binary = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(ack: true), ct);
        await using TestClient phoenix = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await using TestClient v1 = await JoinAsync(server, "?vsn=1.0.0", JoinPayload(), ct);

        // The second client pushes a kind-3 frame first: from then on it is known to decode kind 4.
        await binary.SendBinaryAsync(Kind3("2", "{}", "hello"), ct);
        Assert.That((await binary.ReceiveAsync(ct))!.Status, Is.EqualTo("ok"));
        await sender.ReceiveUntilAsync(f => f.Text.Contains("hello", StringComparison.Ordinal), ct);
        await phoenix.ReceiveUntilAsync(f => f.Text.Contains("hello", StringComparison.Ordinal), ct);
        await v1.ReceiveUntilAsync(f => f.Text.Contains("hello", StringComparison.Ordinal), ct);

        await sender.SendBinaryAsync(Kind3("3", """{"x":1}"""), ct);
        Frame ack = (await sender.ReceiveAsync(ct))!;
        Frame atBinary = (await binary.ReceiveAsync(ct))!;
        Frame atPhoenix = (await phoenix.ReceiveAsync(ct))!;
        Frame atV1 = (await v1.ReceiveAsync(ct))!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ack.Text, Is.EqualTo("""["1","3","realtime:room1","phx_reply",{"status":"ok","response":{}}]"""), "the ack of a binary push is a text reply");
            Assert.That(atBinary.MessageType, Is.EqualTo(WebSocketMessageType.Binary));
            Assert.That(atBinary.Text, Is.EqualTo("040E060001" + Convert.ToHexString("realtime:room1cursor{\"x\":1}"u8)));
            Assert.That(atPhoenix.Text, Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"event":"cursor","payload":{"x":1},"type":"broadcast"}]"""));
            Assert.That(atV1.Text, Is.EqualTo("""{"topic":"realtime:room1","event":"broadcast","payload":{"event":"cursor","payload":{"x":1},"type":"broadcast"},"ref":null}"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Push_OverPayloadLimit_AckedGetsPayloadSizeExceededAndNothingIsSent(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxBroadcastPayloadBytes = 100);
        await using TestClient acked = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(self: true, ack: true), ct);
        await using TestClient silent = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(self: true), ct);
        string big = new('a', 200);

        await acked.PushAsync("1", "2", Room, "broadcast", $$$"""{"type":"broadcast","event":"e","payload":{"s":"{{{big}}}"}}""", ct);
        await silent.SendBinaryAsync(Kind3("3", $$"""{"s":"{{big}}"}"""), ct);
        List<Frame> atAcked = await acked.HeartbeatAsync("hb", ct);
        List<Frame> atSilent = await silent.HeartbeatAsync("hb", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atAcked.Select(f => f.Text), Is.EqualTo(new[] { """["1","2","realtime:room1","phx_reply",{"status":"error","response":"payload_size_exceeded"}]""" }));
            Assert.That(atSilent, Is.Empty, "without ack there is no reply, and an oversized broadcast reaches nobody");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TextPushes_ManyBackToBack_ArriveCompleteAndInOrder(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxInboundMessagesPerSecond = 1000);
        await using TestClient sender = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await using TestClient receiver = await JoinAsync(server, "?vsn=1.0.0", JoinPayload(), ct);

        for (int i = 0; i < 300; i++)
        {
            await sender.PushAsync("1", null, Room, "broadcast", $$$"""{"type":"broadcast","event":"n","payload":{"i":{{{i}}}}}""", ct);
        }

        var received = new List<int>();
        while (received.Count < 300)
        {
            Frame frame = (await receiver.ReceiveAsync(ct))!;
            received.Add(frame.Payload.GetProperty("payload").GetProperty("i").GetInt32());
        }

        Assert.That(received, Is.EqualTo(Enumerable.Range(0, 300)));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Leave_ThenBroadcast_TheLeftChannelGetsNothing(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient sender = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await using TestClient left = await JoinAsync(server, "?vsn=2.0.0", JoinPayload(), ct);
        await left.PushAsync("1", "5", Room, "phx_leave", "{}", ct);
        await left.ReceiveUntilAsync(f => f.Event == "phx_close", ct);

        await sender.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"e","payload":{}}""", ct);
        await sender.HeartbeatAsync("hb", ct);

        Assert.That(await left.HeartbeatAsync("hb", ct), Is.Empty);
    }
}
