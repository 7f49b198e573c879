namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>Broadcast across nodes through the Redis topic manager, with real sample processes.</summary>
[NonParallelizable]
public class RedisRealtimeTopicManagerTests
{
    [Test]
    [CancelAfter(90_000)]
    public async Task Broadcast_SentOnA_ReachesMembersOnBAndC_InTheSendersOrder(CancellationToken cancellationToken)
    {
        await using RedisServer redis = await RedisServer.StartAsync(cancellationToken);
        string database = redis.Directory + ".db";
        SampleNode[] nodes = await Task.WhenAll(new[] { "A", "B", "C" }.Select(name => SampleNode.StartAsync(name, database, redis.Configuration, cancellationToken)));
        try
        {
            const string Config = """{"broadcast":{"self":false}}""";
            await using PhoenixClient sender = await PhoenixClient.JoinAsync(nodes[0], "realtime:room1", Config, cancellationToken);
            await using PhoenixClient onA = await PhoenixClient.JoinAsync(nodes[0], "realtime:room1", Config, cancellationToken);
            await using PhoenixClient onB = await PhoenixClient.JoinAsync(nodes[1], "realtime:room1", Config, cancellationToken);
            await using PhoenixClient onC = await PhoenixClient.JoinAsync(nodes[2], "realtime:room1", Config, cancellationToken);
            await using PhoenixClient otherRoom = await PhoenixClient.JoinAsync(nodes[1], "realtime:room2", Config, cancellationToken);

            for (int i = 0; i < 20; i++)
            {
                await sender.SendAsync("{\"topic\":\"realtime:room1\",\"event\":\"broadcast\",\"ref\":\"" + (i + 2) + "\",\"payload\":{\"type\":\"broadcast\",\"event\":\"cursor\",\"payload\":{\"x\":" + i + "}}}", cancellationToken);
            }

            foreach (PhoenixClient member in new[] { onA, onB, onC })
            {
                await WaitUntilAsync(() => Task.FromResult(member.Broadcasts.Length >= 20), cancellationToken);
                Assert.That(member.Broadcasts, Is.EqualTo(Enumerable.Range(0, 20).Select(i => ("cursor", $$"""{"x":{{i}}}"""))), $"a member on {member.Node}");
            }

            await Task.Delay(200, cancellationToken);
            Assert.That(sender.Broadcasts, Is.Empty, "self: false");
            Assert.That(otherRoom.Broadcasts, Is.Empty, "another topic");
            Assert.That(onA.Broadcasts, Has.Length.EqualTo(20), "the sender's node delivers once, not again from Redis");
        }
        finally
        {
            foreach (SampleNode node in nodes)
            {
                await node.DisposeAsync();
            }

            foreach (string file in Directory.EnumerateFiles(Path.GetDirectoryName(database)!, Path.GetFileName(database) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
