using System.Diagnostics;
using System.Globalization;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// One scaleout configuration: 1 or N <c>serve --scenario scaleout</c> processes (with <c>--redis</c>: one shared
/// prefix, one order of changes), a client fleet per node, and publish passes that always publish on node 0 and
/// account for every client of every node.
/// </summary>
internal sealed class ScaleOutCluster : IAsyncDisposable
{
    private readonly List<ServerProcess> _nodes = [];
    private readonly List<ClientFleet> _fleets = [];
    private readonly List<HttpClient> _http = [];

    private ScaleOutCluster(string config, bool redis)
    {
        Config = config;
        Redis = redis;
    }

    public string Config { get; }

    public bool Redis { get; }

    public IReadOnlyList<ServerProcess> Nodes => _nodes;

    public int Connections => _fleets.Sum(f => f.Count);

    /// <summary>Every node's ring position after <see cref="PrimeAsync"/>: with Redis, the log's sequence (its first epoch starts at 1,048,577).</summary>
    public long PrimedSequence { get; private set; }

    public static async Task<ScaleOutCluster> StartAsync(string config, int nodes, RedisProcess? redis, string prefix, int noteBytes, CancellationToken cancellationToken)
    {
        var cluster = new ScaleOutCluster(config, redis is not null);
        try
        {
            string[]? extra = redis is null ? null : ["--redis", redis.Configuration, "--redis-prefix", prefix];
            for (int i = 0; i < nodes; i++)
            {
                ServerProcess node = await ServerProcess.StartAsync("helios", noteBytes, cancellationToken, "scaleout", extra);
                cluster._nodes.Add(node);
                cluster._fleets.Add(new ClientFleet(node));
                cluster._http.Add(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.Port}/"), Timeout = TimeSpan.FromSeconds(60) });
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>
    /// Publishes <paramref name="count"/> changes before any client joins and waits until every node's ring holds the
    /// last one: the Redis log starts its first epoch here (a sequence jump clients would otherwise see), and every
    /// node is known to read the log. Without Redis it only runs the publisher once.
    /// </summary>
    public async Task PrimeAsync(long count, CancellationToken cancellationToken)
    {
        await AllowAsync(-1, cancellationToken);
        await _nodes[0].StartPublishingAsync(0, count, 30, cancellationToken);
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            await Task.Delay(100, cancellationToken);
            ServerStats stats = await _nodes[0].GetStatsAsync(false, cancellationToken);
            ScaleOutNodeStats[] nodes = await GetNodeStatsAsync(cancellationToken);
            // Without Redis nobody watches the table yet, so Notify publishes nothing and the ring stays at 0.
            if (!stats.Publishing && (!Redis || nodes.All(n => n.RingSequence > 0 && n.RingSequence == nodes[0].RingSequence && n.OutboxDepth == 0)))
            {
                PrimedSequence = nodes[0].RingSequence;
                LoadOutput.Line($"{Config}: primed, every node's ring at {PrimedSequence:N0}");
                return;
            }

            if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{Config}: the nodes' rings did not meet: {string.Join(", ", nodes.Select(n => n.RingSequence))}.");
            }
        }
    }

    /// <summary>Opens clients until the configuration has <paramref name="total"/>, spread evenly over the nodes, each counted by its server.</summary>
    public async Task TopUpAsync(int total, int concurrency, CancellationToken cancellationToken)
    {
        for (int i = 0; i < _nodes.Count; i++)
        {
            int want = (total / _nodes.Count) + (i < total % _nodes.Count ? 1 : 0);
            ClientFleet fleet = _fleets[i];
            int had = fleet.Count;
            if (want <= had)
            {
                continue;
            }

            await fleet.AddAsync(want - had, concurrency, stuck: false, $"{Config} node {i}", cancellationToken);
            long start = Stopwatch.GetTimestamp();
            ScaleOutNodeStats stats;
            while ((stats = await GetNodeStatsAsync(i, cancellationToken)).Readers != fleet.Count)
            {
                if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException($"{Config} node {i} counts {stats.Readers} readers, expected {fleet.Count}.");
                }

                await Task.Delay(100, cancellationToken);
            }

            // Nothing is published between passes: a new client's first change follows the ring's current position
            // (with Redis the log's sequence, not the ticket Notify returns, which the fleet would otherwise use).
            foreach (LoadConnection c in fleet.Connections.Skip(had))
            {
                c.StartAfter(stats.RingSequence);
            }
        }
    }

    /// <summary>
    /// Publishes on node 0 at <paramref name="rate"/>/s (0 = flat out, the slowest node's average backlog per client
    /// kept under <see cref="LoadPublisher.FlatOutWindow"/>) and accounts for every client of every node.
    /// </summary>
    /// <remarks><paramref name="ownCpu"/> is the CPU of every process this run started (all configurations, Redis, the tool), to tell others' load apart.</remarks>
    public async Task<ScaleOutPass> RunPassAsync(int round, string mode, double rate, long count, double seconds, RedisProcess? redis, Func<TimeSpan> ownCpu, CancellationToken cancellationToken)
    {
        FleetTotals[] before = [.. _fleets.Select(f => f.Totals())];
        foreach (ClientFleet f in _fleets)
        {
            f.Latency.Reset();
        }

        TimeSpan serverCpu0 = ServerCpu(), redisCpu0 = redis?.CpuTime() ?? TimeSpan.Zero, clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime, own0 = ownCpu();
        (double machine0, _) = LoadSession.MachineCpu();
        RedisCommandStats? commands0 = redis is null ? null : await redis.GetCommandStatsAsync(cancellationToken);
        ScaleOutNodeStats[] nodes0 = await GetNodeStatsAsync(cancellationToken);
        bool flatOut = rate <= 0;
        long allowed = LoadPublisher.FlatOutWindow;
        await AllowAsync(flatOut ? allowed : -1, cancellationToken);
        long start = Stopwatch.GetTimestamp();
        await _nodes[0].StartPublishingAsync(rate, count, seconds, cancellationToken);
        long lastPoll = start, lastLine = start;
        ServerStats stats = await _nodes[0].GetStatsAsync(false, cancellationToken);
        while (true)
        {
            await Task.Delay(flatOut ? 5 : 50, cancellationToken);
            if (flatOut)
            {
                // The slowest node's clients, on average, decide how far the publisher may run ahead.
                long slowest = long.MaxValue;
                for (int i = 0; i < _fleets.Count; i++)
                {
                    FleetTotals t = _fleets[i].Totals() - before[i];
                    slowest = Math.Min(slowest, (t.Received + t.Lagged) / Math.Max(1, _fleets[i].Count));
                }

                if (slowest + LoadPublisher.FlatOutWindow >= allowed + 8)
                {
                    allowed = slowest + LoadPublisher.FlatOutWindow;
                    await AllowAsync(allowed, cancellationToken);
                }
            }

            if (Stopwatch.GetElapsedTime(lastPoll) >= TimeSpan.FromMilliseconds(200))
            {
                lastPoll = Stopwatch.GetTimestamp();
                stats = await _nodes[0].GetStatsAsync(false, cancellationToken);
                if (!stats.Publishing)
                {
                    break;
                }
            }

            if (Stopwatch.GetElapsedTime(lastLine) >= TimeSpan.FromSeconds(1))
            {
                lastLine = Stopwatch.GetTimestamp();
                long received = _fleets.Select((f, i) => (f.Totals() - before[i]).Received).Sum();
                LoadOutput.Line($"{Config} {mode}: published {stats.Published:N0}, received {received:N0} ({received / Stopwatch.GetElapsedTime(start).TotalSeconds:N0}/s)");
            }
        }

        var totals = new FleetTotals();
        for (int i = 0; i < _fleets.Count; i++)
        {
            FleetTotals t = await _fleets[i].DrainAsync(before[i], stats.Published * _fleets[i].Count, TimeSpan.FromSeconds(5), $"{Config} node {i} {mode}", cancellationToken);
            totals.Received += t.Received;
            totals.Lagged += t.Lagged;
            totals.Gaps += t.Gaps;
            totals.OutOfOrder += t.OutOfOrder;
            totals.LastReceiveTicks = Math.Max(totals.LastReceiveTicks, t.LastReceiveTicks);
        }

        TimeSpan serverCpu = ServerCpu() - serverCpu0, redisCpu = (redis?.CpuTime() ?? TimeSpan.Zero) - redisCpu0;
        TimeSpan clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu0, own = ownCpu() - own0;
        (double machine1, _) = LoadSession.MachineCpu();
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        RedisCommandStats? commands = redis is null ? null : await redis.GetCommandStatsAsync(cancellationToken) - commands0!;
        ScaleOutNodeStats[] nodes1 = await GetNodeStatsAsync(cancellationToken);
        var others = new LatencyHistogram();
        foreach (ClientFleet f in _fleets.Skip(1))
        {
            others.Add(f.Latency);
        }

        return new ScaleOutPass
        {
            Round = round,
            Config = Config,
            Nodes = _nodes.Count,
            Redis = Redis,
            Mode = mode,
            Rate = rate,
            Connections = Connections,
            Published = stats.Published,
            Expected = stats.Published * Connections,
            Received = totals.Received,
            Lagged = totals.Lagged,
            Gaps = totals.Gaps,
            OutOfOrder = totals.OutOfOrder,
            Seconds = totals.LastReceiveTicks > start ? (totals.LastReceiveTicks - start) / (double)Stopwatch.Frequency : 0,
            SameNode = _fleets[0].Latency.Summarize(),
            OtherNodes = others.Summarize(),
            NotifyP99Ns = stats.NotifyP99Ns,
            ServerCpu = serverCpu,
            RedisCpu = redisCpu,
            ClientCpu = clientCpu,
            Appends = nodes1.Sum(n => n.Appends) - nodes0.Sum(n => n.Appends),
            ReadsPerNode = [.. nodes1.Select((n, i) => n.Reads - nodes0[i].Reads)],
            Commands = commands,
            OtherCores = Math.Max(0, ((machine1 - machine0) / 100.0) - own.TotalSeconds) / wall,
        };
    }

    public TimeSpan ServerCpu()
    {
        TimeSpan sum = TimeSpan.Zero;
        foreach (ServerProcess node in _nodes)
        {
            sum += node.CpuTime();
        }

        return sum;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ClientFleet fleet in _fleets)
        {
            fleet.AbortAll();
        }

        foreach (HttpClient http in _http)
        {
            http.Dispose();
        }

        foreach (ServerProcess node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task AllowAsync(long upto, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http[0].PostAsync(string.Create(CultureInfo.InvariantCulture, $"load/allow?upto={upto}"), null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    private async Task<ScaleOutNodeStats[]> GetNodeStatsAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(_nodes.Select((_, i) => GetNodeStatsAsync(i, cancellationToken)));

    private async Task<ScaleOutNodeStats> GetNodeStatsAsync(int node, CancellationToken cancellationToken) =>
        await _http[node].GetFromJsonAsync<ScaleOutNodeStats>("load/scaleout", cancellationToken) ?? throw new InvalidOperationException("Empty stats.");
}
