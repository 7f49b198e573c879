namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>A change the host reports lost reaches a WebSocket client as the usual lag message, never as silence.</summary>
public class RealtimeConnectionLostChangeTests
{
    [Test]
    [CancelAfter(15_000)]
    public async Task NotifyLost_JoinedClient_GetsLagOfOneBetweenTheChangesAroundIt(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:o", "1", ct);
        long first = server.Notify(ChangeKind.Insert, """{"id":1}""");
        long lost = server.Notifier!.NotifyLost("public", "orders", ChangeKind.Insert);
        long third = server.Notify(ChangeKind.Insert, """{"id":3}""");

        var frames = new List<Frame>();
        while (!frames.Any(f => f.Event == "postgres_changes" && f.Payload.GetProperty("seq").GetInt64() == third))
        {
            frames.AddRange(await client.HeartbeatAsync("hb" + frames.Count, ct));
        }

        Frame lag = frames.Single(f => f.Event == "system" && f.Payload.GetProperty("status").GetString() == "error");
        using (Assert.EnterMultipleScope())
        {
            Assert.That((first, lost, third), Is.EqualTo((1L, 2L, 3L)));
            Assert.That(lag.Payload.GetProperty("missed").GetInt64(), Is.EqualTo(1));
            Assert.That(lag.Payload.GetProperty("resume_seq").GetInt64(), Is.EqualTo(3));
            Assert.That(frames.Where(f => f.Event == "postgres_changes").Select(f => f.Payload.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { first, third }));
        }
    }
}
