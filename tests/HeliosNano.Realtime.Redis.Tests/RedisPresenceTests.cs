using System.Text.Json;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>
/// Presence across nodes against a real <c>redis-server</c> and real sample processes: a user tracked on one node is
/// in the <c>presence_state</c> and <c>presence_diff</c>s of members on the others with the same <c>phx_ref</c>, and
/// leaves everywhere on untrack, on a dropped socket, and when its node is killed.
/// </summary>
[NonParallelizable]
public class RedisPresenceTests
{
    private const string Topic = "realtime:lobby";

    private RedisServer _redis = null!;
    private string _database = null!;
    private SampleNode[] _nodes = null!;

    private SampleNode A => _nodes[0];

    private SampleNode B => _nodes[1];

    private SampleNode C => _nodes[2];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        _redis = await RedisServer.StartAsync(timeout.Token);
        _database = _redis.Directory + ".db";
        _nodes = await Task.WhenAll(new[] { "A", "B", "C" }.Select(name => SampleNode.StartAsync(name, _database, _redis.Configuration, timeout.Token)));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await SampleNode.StopAllAsync(_nodes, _database);
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TrackOnA_JoinsOnB_IsInTheStateOfALateJoinerOnC_UpdatesAndLeavesEverywhere(CancellationToken cancellationToken)
    {
        string topic = Topic + "-track";
        await using PhoenixClient alice = await JoinAsync(A, topic, "alice", cancellationToken);
        await using PhoenixClient bob = await JoinAsync(B, topic, "bob", cancellationToken);

        await alice.TrackAsync(topic, """{"name":"Alice"}""", cancellationToken);
        string aliceRef = OnlyRef(await alice.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice"), cancellationToken), "alice");
        string seenOnB = OnlyRef(await bob.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice"), cancellationToken), "alice");
        Assert.That(seenOnB, Is.EqualTo(aliceRef), "one phx_ref on every node");

        await using PhoenixClient carol = await JoinAsync(C, topic, "carol", cancellationToken);
        IReadOnlyDictionary<string, (string Key, string Meta)> state = await carol.WaitForPresenceAsync(p => p.Count > 0, cancellationToken);
        Assert.That(state.Keys, Is.EquivalentTo(new[] { aliceRef }), "the late joiner's presence_state holds the user tracked on A");
        Assert.That(JsonDocument.Parse(state[aliceRef].Meta).RootElement.GetProperty("name").GetString(), Is.EqualTo("Alice"));

        // B tracks too: A and C see it; an update on A replaces its meta everywhere (one diff: new join, old leave).
        await bob.TrackAsync(topic, """{"name":"Bob"}""", cancellationToken);
        string bobRef = OnlyRef(await carol.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "bob"), cancellationToken), "bob");
        await alice.WaitForPresenceAsync(p => p.ContainsKey(bobRef), cancellationToken);
        await alice.TrackAsync(topic, """{"name":"Alice 2"}""", cancellationToken);
        foreach (PhoenixClient member in new[] { bob, carol })
        {
            IReadOnlyDictionary<string, (string Key, string Meta)> updated = await member.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice" && v.Meta.Contains("Alice 2", StringComparison.Ordinal)), cancellationToken);
            Assert.That(updated.Values.Count(v => v.Key == "alice"), Is.EqualTo(1), $"the old meta left on {member.Node}");
            Assert.That(updated.ContainsKey(aliceRef), Is.False);
        }

        await alice.UntrackAsync(topic, cancellationToken);
        foreach (PhoenixClient member in new[] { alice, bob, carol })
        {
            IReadOnlyDictionary<string, (string Key, string Meta)> left = await member.WaitForPresenceAsync(p => p.Values.All(v => v.Key != "alice"), cancellationToken);
            Assert.That(left.Keys, Is.EquivalentTo(new[] { bobRef }), $"only bob stays on {member.Node}");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task RapidUpdatesFromTwoNodes_EveryOtherNodeEndsWithExactlyTheLastMetaPerUser(CancellationToken cancellationToken)
    {
        // Each update is one diff (new join, old leave): a diff applied out of its node's order would leave two metas.
        string topic = Topic + "-stress";
        await using PhoenixClient watcher = await JoinAsync(B, topic, "watcher", cancellationToken);
        PhoenixClient[] users = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => JoinAsync(i % 2 == 0 ? A : C, topic, "u" + i, cancellationToken)));
        try
        {
            await Task.WhenAll(users.Select(async user =>
            {
                for (int n = 0; n < 9; n++)
                {
                    await user.TrackAsync(topic, "{\"n\":" + n + "}", cancellationToken);
                }
            }));

            static bool Final(IReadOnlyDictionary<string, (string Key, string Meta)> p) =>
                p.Count == 12 && p.Values.All(v => JsonDocument.Parse(v.Meta).RootElement.GetProperty("n").GetInt32() == 8);
            IReadOnlyDictionary<string, (string Key, string Meta)> onB = await watcher.WaitForPresenceAsync(Final, cancellationToken);
            await Task.Delay(300, cancellationToken); // nothing more may arrive
            Assert.That(watcher.Presence.Keys, Is.EquivalentTo(onB.Keys), "no late diff undoes the final state");
            Assert.That(onB.Values.Select(v => v.Key), Is.EquivalentTo(Enumerable.Range(0, 12).Select(i => "u" + i)));

            // A late joiner on each node gets the same refs in its presence_state.
            foreach (SampleNode node in _nodes)
            {
                await using PhoenixClient late = await JoinAsync(node, topic, "late", cancellationToken);
                IReadOnlyDictionary<string, (string Key, string Meta)> state = await late.WaitForPresenceAsync(_ => true, cancellationToken);
                Assert.That(state.Keys, Is.EquivalentTo(onB.Keys), $"presence_state on {node.Name}");
            }
        }
        finally
        {
            foreach (PhoenixClient user in users)
            {
                await user.DisposeAsync();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SocketDroppedOnA_ItsUserLeavesOnBAndC(CancellationToken cancellationToken)
    {
        string topic = Topic + "-drop";
        await using PhoenixClient bob = await JoinAsync(B, topic, "bob", cancellationToken);
        await using PhoenixClient carol = await JoinAsync(C, topic, "carol", cancellationToken);
        PhoenixClient alice = await JoinAsync(A, topic, "alice", cancellationToken);
        await alice.TrackAsync(topic, """{"name":"Alice"}""", cancellationToken);
        string aliceRef = OnlyRef(await bob.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice"), cancellationToken), "alice");
        await carol.WaitForPresenceAsync(p => p.ContainsKey(aliceRef), cancellationToken);

        await alice.DisposeAsync(); // no untrack, no phx_leave: the socket goes away
        await bob.WaitForPresenceAsync(p => p.Count == 0, cancellationToken);
        await carol.WaitForPresenceAsync(p => p.Count == 0, cancellationToken);
        Assert.That(bob.Presence, Is.Empty);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task NodeKilled_ItsUsersLeaveOnTheOtherNodes_TheirsStay(CancellationToken cancellationToken)
    {
        string topic = Topic + "-kill";
        await using SampleNode dying = await SampleNode.StartAsync("D", _database, _redis.Configuration, cancellationToken);
        await using PhoenixClient bob = await JoinAsync(B, topic, "bob", cancellationToken);
        await bob.TrackAsync(topic, """{"name":"Bob"}""", cancellationToken);
        PhoenixClient dora = await JoinAsync(dying, topic, "dora", cancellationToken);
        await dora.TrackAsync(topic, """{"name":"Dora"}""", cancellationToken);
        IReadOnlyDictionary<string, (string Key, string Meta)> both = await bob.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "dora") && p.Values.Any(v => v.Key == "bob"), cancellationToken);
        string bobRef = OnlyRef(both, "bob");
        await dora.WaitForPresenceAsync(p => p.ContainsKey(bobRef), cancellationToken);

        dying.Kill(); // kill -9: no untrack, no clean leave; only the heartbeat stops
        await dora.DisposeAsync();
        IReadOnlyDictionary<string, (string Key, string Meta)> after = await bob.WaitForPresenceAsync(p => p.Values.All(v => v.Key != "dora"), cancellationToken);
        Assert.That(after.Keys, Is.EquivalentTo(new[] { bobRef }), "the survivors' users stay");

        await using PhoenixClient carol = await JoinAsync(C, topic, "carol", cancellationToken);
        IReadOnlyDictionary<string, (string Key, string Meta)> state = await carol.WaitForPresenceAsync(_ => true, cancellationToken);
        Assert.That(state.Keys, Is.EquivalentTo(new[] { bobRef }), "a late joiner on C no longer sees the dead node's user");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task RedisRestartedWithoutItsData_NodesPutTheirUsersBack_WithTheSameRef(CancellationToken cancellationToken)
    {
        string topic = Topic + "-restart";
        await using PhoenixClient alice = await JoinAsync(A, topic, "alice", cancellationToken);
        await alice.TrackAsync(topic, """{"name":"Alice"}""", cancellationToken);
        await using PhoenixClient bob = await JoinAsync(B, topic, "bob", cancellationToken);
        string aliceRef = OnlyRef(await bob.WaitForPresenceAsync(p => p.Values.Any(v => v.Key == "alice"), cancellationToken), "alice");

        _redis.Kill();
        await _redis.RestartAsync(keepData: false, cancellationToken);

        // A finds its heartbeat key gone and writes its users back; C reads the state again on its next probe.
        while (true)
        {
            await using PhoenixClient carol = await JoinAsync(C, topic, "carol", cancellationToken);
            IReadOnlyDictionary<string, (string Key, string Meta)> state = await carol.WaitForPresenceAsync(_ => true, cancellationToken);
            if (state.ContainsKey(aliceRef))
            {
                Assert.That(state.Values.Select(v => v.Key), Is.EqualTo(new[] { "alice" }));
                break;
            }

            await Task.Delay(250, cancellationToken);
        }

        IReadOnlyDictionary<string, (string Key, string Meta)> onB = await bob.WaitForPresenceAsync(p => p.ContainsKey(aliceRef), cancellationToken);
        Assert.That(onB.Values.Count(v => v.Key == "alice"), Is.EqualTo(1));
    }

    private static Task<PhoenixClient> JoinAsync(SampleNode node, string topic, string key, CancellationToken cancellationToken) =>
        PhoenixClient.JoinAsync(node, topic, "{\"presence\":{\"enabled\":true,\"key\":\"" + key + "\"}}", cancellationToken);

    private static string OnlyRef(IReadOnlyDictionary<string, (string Key, string Meta)> presence, string key)
    {
        string[] refs = [.. presence.Where(p => p.Value.Key == key).Select(p => p.Key)];
        Assert.That(refs, Has.Length.EqualTo(1), $"one meta for {key}");
        return refs[0];
    }
}
