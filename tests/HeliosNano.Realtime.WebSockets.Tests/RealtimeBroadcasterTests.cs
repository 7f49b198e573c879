using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeBroadcasterTests
{
    private const string JoinPayload = """{"config":{"broadcast":{"ack":true,"self":false},"postgres_changes":[]}}""";

    [Test]
    [CancelAfter(15_000)]
    public async Task BroadcastAsync_FromTheHost_ReachesEveryClientOnTheTopic(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:room1", JoinPayload, "1", ct);
        RealtimeBroadcaster broadcaster = server.Services.GetRequiredService<RealtimeBroadcaster>();
        using JsonDocument payload = JsonDocument.Parse("""{"x":1}""");

        await broadcaster.BroadcastAsync("room1", "cursor", payload.RootElement, ct);
        await broadcaster.BroadcastAsync("realtime:room1", "chat", "\"hi\""u8.ToArray(), ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((await client.ReceiveAsync(ct))!.Text, Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"event":"cursor","payload":{"x":1},"type":"broadcast"}]"""));
            Assert.That((await client.ReceiveAsync(ct))!.Text, Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"event":"chat","payload":"hi","type":"broadcast"}]"""));
        }
    }

    [Test]
    public void BroadcastAsync_NotOneJsonValue_Throws()
    {
        var broadcaster = new RealtimeBroadcaster(new DefaultRealtimeTopicManager());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(async () => await broadcaster.BroadcastAsync("room1", "e", "{not json"u8.ToArray()), Throws.ArgumentException);
            Assert.That(async () => await broadcaster.BroadcastAsync("room1", "e", "1 2"u8.ToArray()), Throws.ArgumentException);
            Assert.That(async () => await broadcaster.BroadcastAsync("room1", "e", default(JsonElement)), Throws.ArgumentException);
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ReadAllAsync_TopicBroadcastsFromClientsAndHost_ArriveInOrder(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        RealtimeBroadcaster broadcaster = server.Services.GetRequiredService<RealtimeBroadcaster>();
        await using IAsyncEnumerator<RealtimeBroadcast> reader = broadcaster.ReadAllAsync("room1", ct).GetAsyncEnumerator(ct);
        ValueTask<bool> first = reader.MoveNextAsync(); // subscribes before it returns
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:room1", JoinPayload, "1", ct);

        await client.PushAsync("1", "2", "realtime:room1", "broadcast", """{"type":"broadcast","event":"cursor","payload":{"x":1}}""", ct);
        await client.ReceiveAsync(ct); // the ack: the fan-out happened
        await broadcaster.BroadcastAsync("room2", "elsewhere", "{}"u8.ToArray(), ct);
        await broadcaster.BroadcastAsync("room1", "host", "[1]"u8.ToArray(), ct);

        Assert.That(await first, Is.True);
        RealtimeBroadcast fromClient = reader.Current;
        Assert.That(await reader.MoveNextAsync(), Is.True);
        RealtimeBroadcast fromHost = reader.Current;
        using (Assert.EnterMultipleScope())
        {
            Assert.That((fromClient.Topic, fromClient.Event, Encoding.UTF8.GetString(fromClient.Payload.Span)), Is.EqualTo(("room1", "cursor", """{"x":1}""")));
            Assert.That((fromHost.Event, Encoding.UTF8.GetString(fromHost.Payload.Span), fromHost.IsBinary), Is.EqualTo(("host", "[1]", false)));
        }
    }
}
