using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>The presence scripts alone against a real <c>redis-server</c>: what each leaves in the hash and publishes.</summary>
[NonParallelizable]
public class RedisPresenceScriptsTests
{
    private static readonly RedisKey[] s_keys = ["{t}:presence", "{t}:presence:seq", "{t}:presence:nodes", "{t}:presence:alive:a"];
    private static readonly RedisKey[] s_keysB = ["{t}:presence", "{t}:presence:seq", "{t}:presence:nodes", "{t}:presence:alive:b"];

    [Test]
    [CancelAfter(30_000)]
    public async Task WriteReconcileSweep_NumberEveryChange_AndTouchOnlyTheirNodesMetas(CancellationToken cancellationToken)
    {
        await using RedisServer redis = await RedisServer.StartAsync(cancellationToken);
        await using ConnectionMultiplexer connection = await redis.ConnectAdminAsync();
        IDatabase db = connection.GetDatabase();
        var published = new List<string>();
        ChannelMessageQueue queue = await connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal("{t}:presence"));
        queue.OnMessage(m => { lock (published) { published.Add((string)m.Message!); } });

        // A first write finds no heartbeat key: it says so (the node must reconcile) and sets it.
        Assert.That((int)await Write(db, s_keys, "a", ["r1", Value("a", "r1")], []), Is.EqualTo(1));
        Assert.That((int)await Write(db, s_keys, "a", ["r2", Value("a", "r2")], []), Is.EqualTo(0));
        Assert.That((int)await Write(db, s_keysB, "b", ["r3", Value("b", "r3")], []), Is.EqualTo(1));
        Assert.That((int)await Write(db, s_keys, "a", [], ["r1"]), Is.EqualTo(0));
        Assert.That((string?)await db.HashGetAsync(s_keys[0], "r2"), Is.EqualTo(Value("a", "r2")));
        Assert.That(await db.HashExistsAsync(s_keys[0], "r1"), Is.False);

        // Reconcile: a holds exactly r4 now; b's meta is untouched; only the difference is published.
        RedisResult changed = await db.ScriptEvaluateAsync(RedisPresenceScripts.Reconcile, s_keys, ["a", "{t}:presence", "5000", "r4", Value("a", "r4")]);
        Assert.That((int)changed, Is.EqualTo(2));
        Assert.That((await db.HashKeysAsync(s_keys[0])).Select(k => (string)k!), Is.EquivalentTo(new[] { "r3", "r4" }));
        Assert.That((int)await db.ScriptEvaluateAsync(RedisPresenceScripts.Reconcile, s_keys, ["a", "{t}:presence", "5000", "r4", Value("a", "r4")]), Is.EqualTo(0), "nothing to do: nothing published");

        // b's heartbeat expires: any number of sweeps remove its metas once.
        Assert.That((int)await Sweep(db), Is.EqualTo(0), "every node alive");
        await db.KeyDeleteAsync(s_keysB[3]);
        RedisResult[] sweeps = await Task.WhenAll(Sweep(db), Sweep(db), Sweep(db));
        Assert.That(sweeps.Select(r => (int)r).OrderBy(n => n), Is.EqualTo(new[] { 0, 0, 1 }));
        Assert.That((await db.HashKeysAsync(s_keys[0])).Select(k => (string)k!), Is.EqualTo(new[] { "r4" }));

        // a leaves cleanly: its metas and heartbeat go.
        await db.ScriptEvaluateAsync(RedisPresenceScripts.Reconcile, s_keys, ["a", "{t}:presence", "0"]);
        Assert.That(await db.HashLengthAsync(s_keys[0]), Is.Zero);
        Assert.That(await db.KeyExistsAsync(s_keys[3]), Is.False);

        RedisResult snapshot = await db.ScriptEvaluateAsync(RedisPresenceScripts.Snapshot, s_keys[..2]);
        Assert.That((string?)((RedisResult[])snapshot!)[0], Is.EqualTo("7"), "4 writes, 1 reconcile that changed something, 1 sweep, 1 leave");
        while (true)
        {
            lock (published)
            {
                if (published.Count == 7)
                {
                    break;
                }
            }

            await Task.Delay(20, cancellationToken);
        }

        Assert.That(published, Is.EqualTo(new[]
        {
            $$"""{"n":"a","s":1,"j":[{{Value("a", "r1")}}],"l":[]}""",
            $$"""{"n":"a","s":2,"j":[{{Value("a", "r2")}}],"l":[]}""",
            $$"""{"n":"b","s":3,"j":[{{Value("b", "r3")}}],"l":[]}""",
            """{"n":"a","s":4,"j":[],"l":["r1"]}""",
            $$"""{"n":"a","s":5,"j":[{{Value("a", "r4")}}],"l":["r2"]}""",
            """{"n":"","s":6,"j":[],"l":["r3"]}""",
            """{"n":"a","s":7,"j":[],"l":["r4"]}""",
        }));
    }

    private static Task<RedisResult> Write(IDatabase db, RedisKey[] keys, string node, string[] joins, string[] leaves) =>
        db.ScriptEvaluateAsync(RedisPresenceScripts.Write, keys, [node, "{t}:presence", "5000", joins.Length / 2, .. joins.Select(j => (RedisValue)j), .. leaves.Select(l => (RedisValue)l)]);

    private static Task<RedisResult> Sweep(IDatabase db) =>
        db.ScriptEvaluateAsync(RedisPresenceScripts.Sweep, s_keys[..3], ["{t}:presence:alive:", "{t}:presence"]);

    private static string Value(string node, string presenceRef) => "{\"n\":\"" + node + "\",\"t\":\"realtime:x\",\"k\":\"" + presenceRef + "\",\"r\":\"" + presenceRef + "\",\"m\":{}}";
}
