namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>Broadcast across nodes through the Redis topic manager, and the private namespace of broadcast and presence across nodes, with real sample processes.</summary>
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
            await SampleNode.StopAllAsync(nodes, database);
        }
    }

    // A private channel and a public one of the same name are separate namespaces on every node: a broadcast crosses
    // Redis with its private flag, so it reaches the private members on B and never the public ones.
    [Test]
    [CancelAfter(90_000)]
    public async Task PrivateBroadcast_SentOnA_ReachesOnlyPrivateMembersOnB(CancellationToken cancellationToken)
    {
        await using RedisServer redis = await RedisServer.StartAsync(cancellationToken);
        string database = redis.Directory + ".db";
        SampleNode[] nodes = await StartJwtNodesAsync(redis, database, cancellationToken);
        try
        {
            string token = ServiceRoleToken(JwtSecret);
            const string Private = """{"broadcast":{"self":false},"private":true}""", Public = """{"broadcast":{"self":false}}""";
            await using PhoenixClient privateSender = await PhoenixClient.JoinAsync(nodes[0], "realtime:room1", Private, token, cancellationToken);
            await using PhoenixClient publicSender = await PhoenixClient.JoinAsync(nodes[0], "realtime:room1", Public, token, cancellationToken);
            await using PhoenixClient privateOnB = await PhoenixClient.JoinAsync(nodes[1], "realtime:room1", Private, token, cancellationToken);
            await using PhoenixClient publicOnB = await PhoenixClient.JoinAsync(nodes[1], "realtime:room1", Public, token, cancellationToken);

            await privateSender.SendAsync("""{"topic":"realtime:room1","event":"broadcast","ref":"2","payload":{"type":"broadcast","event":"secret","payload":{"x":1}}}""", cancellationToken);
            await publicSender.SendAsync("""{"topic":"realtime:room1","event":"broadcast","ref":"3","payload":{"type":"broadcast","event":"open","payload":{"x":2}}}""", cancellationToken);
            await WaitUntilAsync(() => Task.FromResult(privateOnB.Broadcasts.Length >= 1 && publicOnB.Broadcasts.Length >= 1), cancellationToken);
            await Task.Delay(300, cancellationToken); // time for a wrongly routed copy to arrive

            using (Assert.EnterMultipleScope())
            {
                Assert.That(privateOnB.Broadcasts.Select(b => b.Event), Is.EqualTo(new[] { "secret" }), "the private member on B");
                Assert.That(publicOnB.Broadcasts.Select(b => b.Event), Is.EqualTo(new[] { "open" }), "the public member on B");
                Assert.That(privateSender.Broadcasts.Select(b => b.Event), Is.Empty, "self: false, and not the public one");
                Assert.That(publicSender.Broadcasts.Select(b => b.Event), Is.Empty);
            }
        }
        finally
        {
            await SampleNode.StopAllAsync(nodes, database);
        }
    }

    // Presence crosses Redis in the channel's namespace too: a user tracked on a private channel on A is present to the
    // private members on B and never to the public channel of that name, and the other way round.
    [Test]
    [CancelAfter(90_000)]
    public async Task PrivatePresence_TrackedOnA_IsSeenOnlyByPrivateMembersOnB(CancellationToken cancellationToken)
    {
        await using RedisServer redis = await RedisServer.StartAsync(cancellationToken);
        string database = redis.Directory + ".db";
        SampleNode[] nodes = await StartJwtNodesAsync(redis, database, cancellationToken);
        try
        {
            string token = ServiceRoleToken(JwtSecret);
            static string Config(string key, bool isPrivate) => "{\"presence\":{\"enabled\":true,\"key\":\"" + key + "\"}" + (isPrivate ? ",\"private\":true}" : "}");
            const string Topic = "realtime:lobby";
            await using PhoenixClient alice = await PhoenixClient.JoinAsync(nodes[0], Topic, Config("alice", isPrivate: true), token, cancellationToken);
            await using PhoenixClient bob = await PhoenixClient.JoinAsync(nodes[0], Topic, Config("bob", isPrivate: false), token, cancellationToken);
            await using PhoenixClient carol = await PhoenixClient.JoinAsync(nodes[1], Topic, Config("carol", isPrivate: true), token, cancellationToken);
            await using PhoenixClient dave = await PhoenixClient.JoinAsync(nodes[1], Topic, Config("dave", isPrivate: false), token, cancellationToken);

            await alice.TrackAsync(Topic, """{"name":"Alice"}""", cancellationToken);
            await bob.TrackAsync(Topic, """{"name":"Bob"}""", cancellationToken);
            await carol.TrackAsync(Topic, """{"name":"Carol"}""", cancellationToken);
            await dave.TrackAsync(Topic, """{"name":"Dave"}""", cancellationToken);
            await carol.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice"), cancellationToken);
            await dave.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "bob"), cancellationToken);
            await alice.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "carol"), cancellationToken);
            await bob.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "dave"), cancellationToken);
            await Task.Delay(300, cancellationToken); // time for a wrongly routed diff to arrive

            using (Assert.EnterMultipleScope())
            {
                Assert.That(carol.Presence.Values.Select(v => v.Key), Is.EquivalentTo(new[] { "alice", "carol" }), "private on B: the private users of both nodes only");
                Assert.That(alice.Presence.Values.Select(v => v.Key), Is.EquivalentTo(new[] { "alice", "carol" }), "private on A");
                Assert.That(dave.Presence.Values.Select(v => v.Key), Is.EquivalentTo(new[] { "bob", "dave" }), "public on B: never a private user");
                Assert.That(bob.Presence.Values.Select(v => v.Key), Is.EquivalentTo(new[] { "bob", "dave" }), "public on A");
            }
        }
        finally
        {
            await SampleNode.StopAllAsync(nodes, database);
        }
    }

    private const string JwtSecret = "a-test-secret-of-at-least-32-bytes-long";

    /// <summary>Nodes A and B on one Redis and one SQLite file, with JWT auth on (so channels can be private).</summary>
    private static Task<SampleNode[]> StartJwtNodesAsync(RedisServer redis, string database, CancellationToken cancellationToken) =>
        Task.WhenAll(new[] { "A", "B" }.Select(name => SampleNode.StartAsync(name, database, redis.Configuration, ["--jwt-secret", JwtSecret], cancellationToken)));

    /// <summary>An HS256 JWT with <c>role: service_role</c> (the sample's service key: allowed on every private channel).</summary>
    private static string ServiceRoleToken(string secret)
    {
        static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray());
        long exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        string payload = Base64Url(System.Text.Encoding.UTF8.GetBytes($$"""{"role":"service_role","sub":"service","exp":{{exp}}}"""));
        byte[] signature = System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(header + "." + payload));
        return header + "." + payload + "." + Base64Url(signature);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
