using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>A client that stops reading cannot make the server queue broadcasts without bound, nor delay the others.</summary>
public class RealtimeConnectionTopicQueueTests
{
    private const string JoinPayload = """{"config":{"broadcast":{"self":false},"postgres_changes":[]}}""";

    [Test]
    [CancelAfter(60_000)]
    public async Task Broadcasts_ToAClientThatNeverReads_CloseItWhenItsQueueIsFullWhileOthersGetEverything(CancellationToken ct)
    {
        const int Count = 400;
        await using RealtimeServer server = await RealtimeServer.StartAsync(o =>
        {
            o.MaxQueuedTopicMessages = 8;
            o.SendTimeout = TimeSpan.FromSeconds(2);
        });
        await using TestClient stuck = await server.ConnectAsync("?vsn=1.0.0", ct);
        await stuck.JoinAsync("realtime:room", JoinPayload, "1", ct);
        await using TestClient reader = await server.ConnectAsync("?vsn=1.0.0", ct);
        await reader.JoinAsync("realtime:room", JoinPayload, "1", ct);
        RealtimeBroadcaster broadcaster = server.Services.GetRequiredService<RealtimeBroadcaster>();
        string pad = new('x', 32 * 1024);

        var numbers = new List<int>();
        for (int n = 0; n < Count; n++)
        {
            // Paced by the reading client, so only the stuck one falls behind.
            using JsonDocument payload = JsonDocument.Parse($$"""{"n":{{n}},"pad":"{{pad}}"}""");
            await broadcaster.BroadcastAsync("room", "tick", payload.RootElement, ct);
            while (numbers.Count <= n && await reader.ReceiveLargeAsync(ct) is (string text, _))
            {
                using JsonDocument frame = JsonDocument.Parse(text);
                if (frame.RootElement.GetProperty("event").GetString() == "broadcast")
                {
                    numbers.Add(frame.RootElement.GetProperty("payload").GetProperty("payload").GetProperty("n").GetInt32());
                }
            }
        }

        Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, Count)), "the reading client gets every broadcast, in order");
        while (!server.Logs.GetSnapshot().Any(r => r.Id.Name == "TopicQueueFull"))
        {
            await Task.Delay(50, ct);
        }

        Assert.That(server.Logs.GetSnapshot().Count(r => r.Id.Name == "TopicQueueFull"), Is.EqualTo(1), "closed once, with the reason logged");
    }
}
