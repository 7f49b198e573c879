using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>
/// Replay from the Redis log beyond a node's ring, against a real <c>redis-server</c> and two real sample processes
/// whose log keeps 4,096 entries (<c>--redis-log-length</c>) while each ring keeps 1,024: a client that resumes on
/// another node gets exactly what it missed while the log holds it, else the exact lag of N, then the rest.
/// </summary>
[NonParallelizable]
public class RedisReplayTests
{
    private const int LogLength = 4096;
    private RedisServer _redis = null!;
    private string _database = null!;
    private SampleNode[] _nodes = null!;

    private SampleNode A => _nodes[0];

    private SampleNode B => _nodes[1];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        _redis = await RedisServer.StartAsync(timeout.Token);
        _database = SampleNode.CreateOrdersDatabase(_redis);

        string[] args = ["--redis-log-length", LogLength.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        _nodes = await Task.WhenAll(new[] { "A", "B" }.Select(name => SampleNode.StartAsync(name, _database, _redis.Configuration, args, timeout.Token)));
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
    [CancelAfter(90_000)]
    public async Task DropOnA_3000Writes_RejoinOnBWithLastSeq_GetsExactlyThe3000InOrderFromTheLog(CancellationToken cancellationToken)
    {
        long lastSeen = await DropAfterOneChangeAsync(A, cancellationToken);
        await A.InsertAsync(3000, "while-away", cancellationToken); // three rings, within the log
        await WaitForSequenceAsync(B, lastSeen + 3000, cancellationToken);
        long historyReads = (await B.HealthAsync(cancellationToken)).GetProperty("historyReads").GetInt64();

        await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, lastSeen, cancellationToken);
        await onB.WaitForAsync(3000, cancellationToken);
        await B.InsertAsync(1, "live", cancellationToken);
        await onB.WaitForAsync(3001, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(onB.Missed, Is.Empty, "the log held every change the ring had overwritten");
            Assert.That(onB.Seqs, Is.EqualTo(Enumerable.Range(1, 3001).Select(i => lastSeen + i)), "in order, each once, with its sequence number");
            Assert.That(onB.Changes.Count(c => c.Customer == "while-away"), Is.EqualTo(3000));
            Assert.That(onB.Changes[^1].Customer, Is.EqualTo("live"), "then live changes from the ring");
            Assert.That((await B.HealthAsync(cancellationToken)).GetProperty("historyReads").GetInt64() - historyReads, Is.InRange(4, 12), "batched reads: about (3000 - 1024) / 512");
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task MoreWritesThanTheLogKeeps_RejoinOnB_ToldTheExactLagThenEveryChangeTheLogHolds(CancellationToken cancellationToken)
    {
        long lastSeen = await DropAfterOneChangeAsync(B, cancellationToken);
        long top = lastSeen;
        for (int i = 0; i < 5; i++)
        {
            // In statements smaller than the outbox (4,096), each drained before the next: no change is dropped.
            await A.InsertAsync((LogLength + 1500) / 5, "flood", cancellationToken);
            top += (LogLength + 1500) / 5;
            await WaitForSequenceAsync(B, top, cancellationToken);
        }

        // MAXLEN ~ trims whole stream nodes: the log holds at least LogLength entries; the oldest it holds fixes N.
        long oldest = await OldestInLogAsync();
        Assert.That(oldest, Is.InRange(lastSeen + 2, top - LogLength + 1), "the log lost the first changes, kept at least LogLength");

        await using PhoenixClient onB = await PhoenixClient.ConnectAsync(B, lastSeen, cancellationToken);
        int expected = (int)(top - oldest + 1);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wait.CancelAfter(20_000);
            try
            {
                await onB.WaitForAsync(expected, wait.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"got {onB.Count} of {expected}; missed {string.Join(",", onB.Missed)}; first {onB.Seqs.FirstOrDefault()} last {onB.Seqs.LastOrDefault()}; lastSeen {lastSeen} oldest {oldest} top {top}");
            }
        }
        await Task.Delay(200, cancellationToken); // nothing more may arrive

        using (Assert.EnterMultipleScope())
        {
            Assert.That(onB.Missed, Is.EqualTo(new[] { oldest - lastSeen - 1 }), "one lag, the exact N the log no longer holds");
            Assert.That(onB.Seqs, Is.EqualTo(Enumerable.Range(0, expected).Select(i => oldest + i)), "then every change it holds, in order");
            Assert.That(expected, Is.GreaterThan(1024), "more than the ring could have given");
        }
    }

    /// <summary>A client on <paramref name="node"/> receives one change and leaves; returns that change's sequence.</summary>
    private static async Task<long> DropAfterOneChangeAsync(SampleNode node, CancellationToken cancellationToken)
    {
        await using PhoenixClient client = await PhoenixClient.ConnectAsync(node, null, cancellationToken);
        await node.InsertAsync(1, "before-drop", cancellationToken);
        await client.WaitForAsync(1, cancellationToken);
        return client.Seqs[^1];
    }

    private async Task<long> OldestInLogAsync()
    {
        RedisResult result = await _redis.ExecuteAsync("XRANGE", "{heliosnano}:log", "-", "+", "COUNT", "1");
        string id = (string)((RedisResult[])((RedisResult[])result!)![0]!)![0]!;
        return long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitForSequenceAsync(SampleNode node, long sequence, CancellationToken cancellationToken)
    {
        while ((await node.HealthAsync(cancellationToken)).GetProperty("lastSequence").GetInt64() < sequence)
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
