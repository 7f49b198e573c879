
namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>
/// The backplane against a real <c>redis-server</c> and three real sample processes over one SQLite file: every
/// guarantee of the scale-out design, each by a test that fails without it.
/// </summary>
[NonParallelizable]
public class RedisChangeBackplaneTests
{
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
        _database = SampleNode.CreateOrdersDatabase(_redis);

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
    public async Task WritesFromThreeNodes_EveryClientOnEveryNodeGetsTheSameSequenceList(CancellationToken cancellationToken)
    {
        PhoenixClient[] clients = [.. await Task.WhenAll(_nodes.Concat(_nodes).Select(node => PhoenixClient.ConnectAsync(node, null, cancellationToken)))];
        try
        {
            await Task.WhenAll(_nodes.Select(async node =>
            {
                for (int i = 0; i < 20; i++)
                {
                    await node.InsertAsync(5, "three-" + node.Name, cancellationToken);
                }
            }));
            await Task.WhenAll(clients.Select(c => c.WaitForAsync(300, cancellationToken)));
            await Task.Delay(200, cancellationToken); // nothing more may arrive

            long[] reference = clients[0].Seqs;
            Assert.That(reference, Has.Length.EqualTo(300));
            Assert.That(reference.Zip(reference.Skip(1)).All(p => p.Second == p.First + 1), Is.True, "one gap-free order");
            Assert.That(clients[0].Changes.GroupBy(c => c.Customer).Select(g => (g.Key, g.Count())), Is.EquivalentTo(new[] { ("three-A", 100), ("three-B", 100), ("three-C", 100) }));
            foreach (PhoenixClient client in clients)
            {
                Assert.That(client.Changes, Is.EqualTo(clients[0].Changes), $"a client on {client.Node}");
                Assert.That(client.Missed, Is.Empty);
            }
        }
        finally
        {
            foreach (PhoenixClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DropOnA_500Writes_RejoinOnBWithLastSeq_GetsExactlyTheGapInOrder(CancellationToken cancellationToken)
    {
        long lastSeen;
        await using (PhoenixClient onA = await PhoenixClient.ConnectAsync(A, null, cancellationToken))
        {
            await A.InsertAsync(3, "before-drop", cancellationToken);
            await onA.WaitForAsync(3, cancellationToken);
            lastSeen = onA.Seqs[^1];
        }

        await A.InsertAsync(250, "while-away-A", cancellationToken);
        await C.InsertAsync(250, "while-away-C", cancellationToken);
        await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, lastSeen, cancellationToken);
        await onB.WaitForAsync(500, cancellationToken);
        await Task.Delay(200, cancellationToken);

        Assert.That(onB.Seqs, Is.EqualTo(Enumerable.Range(1, 500).Select(i => lastSeen + i)));
        Assert.That(onB.Changes.Count(c => c.Customer == "while-away-A"), Is.EqualTo(250));
        Assert.That(onB.Missed, Is.Empty);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MoreWritesThanARingHolds_RejoinOnAnotherNode_GetsThemAllFromTheLog(CancellationToken cancellationToken)
    {
        long lastSeen;
        await using (PhoenixClient onC = await PhoenixClient.ConnectAsync(C, null, cancellationToken))
        {
            await C.InsertAsync(1, "before-flood", cancellationToken);
            await onC.WaitForAsync(1, cancellationToken);
            lastSeen = onC.Seqs[^1];
        }

        await B.InsertAsync(1500, "flood", cancellationToken); // the ring keeps 1024, the log 16,384
        await WaitForSequenceAsync(A, lastSeen + 1500, cancellationToken);
        await using PhoenixClient onA = await PhoenixClient.ConnectAsync(A, lastSeen, cancellationToken);
        await onA.WaitForAsync(1500, cancellationToken);
        await Task.Delay(200, cancellationToken);

        Assert.That(onA.Missed, Is.Empty, "the log holds what the ring overwrote (RedisReplayTests: past the log, the exact lag)");
        Assert.That(onA.Seqs, Is.EqualTo(Enumerable.Range(1, 1500).Select(i => lastSeen + i)));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task KillANode_ItsClientReconnectsElsewhereWithLastSeq_NothingLost(CancellationToken cancellationToken)
    {
        try
        {
            PhoenixClient onC = await PhoenixClient.ConnectAsync(C, null, cancellationToken);
            await A.InsertAsync(10, "before-kill", cancellationToken);
            await onC.WaitForAsync(10, cancellationToken);
            C.Kill();
            (long Seq, string Customer)[] beforeKill = onC.Changes;
            await onC.DisposeAsync();

            await A.InsertAsync(40, "after-kill", cancellationToken);
            await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, beforeKill[^1].Seq, cancellationToken);
            await B.InsertAsync(50, "after-reconnect", cancellationToken);
            await onB.WaitForAsync(90, cancellationToken);
            await Task.Delay(200, cancellationToken);

            long[] all = [.. beforeKill.Select(c => c.Seq), .. onB.Seqs];
            Assert.That(all, Is.EqualTo(Enumerable.Range(0, all.Length).Select(i => all[0] + i)), "contiguous across the node's death");
            Assert.That(all, Has.Length.EqualTo(100));
            Assert.That(onB.Missed, Is.Empty);
        }
        finally
        {
            C.Kill();
            await C.StartAsync(cancellationToken);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RedisKilledAndRestartedWithData_WritesNeverFailTheOutboxDrainsANewEpochNoSequenceReused(CancellationToken cancellationToken)
    {
        await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, null, cancellationToken);
        await A.InsertAsync(5, "before-crash", cancellationToken);
        await onB.WaitForAsync(5, cancellationToken);
        long epochChanges = (await B.HealthAsync(cancellationToken)).GetProperty("epochChanges").GetInt64();

        _redis.Kill();
        for (int i = 0; i < 10; i++)
        {
            await A.InsertAsync(10, "during-outage", cancellationToken); // commits while Redis is down
        }

        await WaitUntilAsync(async () => (await A.HealthAsync(cancellationToken)).GetProperty("outboxDepth").GetInt32() == 100, cancellationToken);
        await _redis.RestartAsync(keepData: true, cancellationToken);
        await onB.WaitForAsync(105, cancellationToken);
        await WaitUntilAsync(async () => (await A.HealthAsync(cancellationToken)).GetProperty("outboxDepth").GetInt32() == 0, cancellationToken);

        long[] seqs = onB.Seqs;
        Assert.That(seqs.Zip(seqs.Skip(1)).All(p => p.Second > p.First), Is.True, "increasing: never a number twice");
        Assert.That(onB.Changes.Count(c => c.Customer == "during-outage"), Is.EqualTo(100));
        Assert.That(onB.Missed, Is.Empty, "every node had read everything Redis kept: the jump is void, not lag");
        Assert.That((await B.HealthAsync(cancellationToken)).GetProperty("epochChanges").GetInt64(), Is.EqualTo(epochChanges + 1));
        Assert.That(seqs[5] - seqs[4], Is.GreaterThan(RedisBackplaneOptions.DefaultEpochSequenceGap), "the new epoch starts past the jump");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RedisRestartedWithoutData_OverflowingOutbox_EveryNodeReportsTheSameDropsNoSequenceReused(CancellationToken cancellationToken)
    {
        await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, null, cancellationToken);
        await using PhoenixClient onC = await PhoenixClient.ConnectAsync(C, null, cancellationToken);
        await A.InsertAsync(1, "before-wipe", cancellationToken);
        await Task.WhenAll(onB.WaitForAsync(1, cancellationToken), onC.WaitForAsync(1, cancellationToken));
        long before = onB.Seqs[^1];
        long lostB = (await B.HealthAsync(cancellationToken)).GetProperty("lostPositions").GetInt64();
        long lostC = (await C.HealthAsync(cancellationToken)).GetProperty("lostPositions").GetInt64();

        _redis.Kill();
        await A.InsertAsync(RedisBackplaneOptions.DefaultOutboxCapacity + 300, "overflow", cancellationToken); // 300 do not fit
        await WaitUntilAsync(async () => (await A.HealthAsync(cancellationToken)).GetProperty("dropped").GetInt64() >= 300, cancellationToken);
        await _redis.RestartAsync(keepData: false, cancellationToken);
        await WaitUntilAsync(async () => (await A.HealthAsync(cancellationToken)).GetProperty("outboxDepth").GetInt32() == 0, cancellationToken);
        await A.InsertAsync(1, "after-wipe", cancellationToken); // fits again once the outbox drained
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wait.CancelAfter(TimeSpan.FromSeconds(45));
            try
            {
                await Task.WhenAll(onB.WaitForCustomerAsync("after-wipe", wait.Token), onC.WaitForCustomerAsync("after-wipe", wait.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"after-wipe never arrived: B has {onB.Count} (missed {string.Join(",", onB.Missed)}), C has {onC.Count}; " + await DiagnoseAsync(cancellationToken));
            }
        }

        foreach (PhoenixClient client in new[] { onB, onC })
        {
            long[] seqs = client.Seqs;
            Assert.That(seqs.Zip(seqs.Skip(1)).All(p => p.Second > p.First), Is.True, $"{client.Node}: increasing, never a number twice");
            Assert.That(seqs.Where(s => s > before).Min() - before, Is.GreaterThan(RedisBackplaneOptions.DefaultEpochSequenceGap), "numbers restart past the jump, not at 1");
            Assert.That(client.Changes.Count(c => c.Customer == "overflow") + client.Missed.Sum(), Is.EqualTo(RedisBackplaneOptions.DefaultOutboxCapacity + 300), $"{client.Node}: every overflow write received or reported as lag");
            Assert.That(client.Missed.Sum(), Is.GreaterThanOrEqualTo(300), $"{client.Node}: the drops are reported");
        }

        // The drops are one gap entry in the log: the same positions on every node.
        Assert.That((await B.HealthAsync(cancellationToken)).GetProperty("lostPositions").GetInt64() - lostB, Is.EqualTo(300));
        Assert.That((await C.HealthAsync(cancellationToken)).GetProperty("lostPositions").GetInt64() - lostC, Is.EqualTo(300));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task RedisPausedAndPubSubConnectionsKilled_NodesHealByThemselves(CancellationToken cancellationToken)
    {
        await using PhoenixClient onC = await PhoenixClient.ConnectAsync(C, null, cancellationToken);
        await _redis.ExecuteAsync("CLIENT", "PAUSE", "3000");
        await A.InsertAsync(20, "during-pause", cancellationToken); // commits while Redis does not answer
        await onC.WaitForAsync(20, cancellationToken);

        await _redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        await B.InsertAsync(20, "after-pubsub-kill", cancellationToken);
        await onC.WaitForAsync(40, cancellationToken);

        long[] seqs = onC.Seqs;
        Assert.That(seqs, Is.EqualTo(Enumerable.Range(0, 40).Select(i => seqs[0] + i)));
        Assert.That(onC.Missed, Is.Empty);
    }

    private async Task<string> DiagnoseAsync(CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        foreach (SampleNode node in _nodes)
        {
            text.Append(node.Name).Append(": ").Append(await node.HealthAsync(cancellationToken)).AppendLine();
            lock (node.Output)
            {
                string output = node.Output.ToString();
                text.AppendLine(output[Math.Max(0, output.Length - 3000)..]);
            }
        }

        return text.ToString();
    }

    private static async Task WaitForSequenceAsync(SampleNode node, long sequence, CancellationToken cancellationToken) =>
        await WaitUntilAsync(async () => (await node.HealthAsync(cancellationToken)).GetProperty("lastSequence").GetInt64() >= sequence, cancellationToken);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
