namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>scaleout</c> (issue 9): a <c>redis-server</c> of its own, N nodes sharing one Redis log, one node without
/// Redis and one node with it, all up at once; then, interleaved in rounds, (a) a fixed-rate pass per configuration
/// (notify → receive on the writer's node, on the other nodes, and on the single node), with Redis
/// <c>INFO commandstats</c> and the backplane's own counters around each pass (appends and reads per change), and
/// (c) a flat-out pass per configuration at the same total of clients (spread evenly over the nodes). Every client
/// of every node must receive every change in order. Writes <c>scaleout-results.md</c> and <c>scaleout-chart.svg</c>.
/// </summary>
internal static class ScaleOutCommand
{
    /// <summary>Changes published before any client joins (see <see cref="ScaleOutCluster.PrimeAsync"/>).</summary>
    public const int Primed = 20;

    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        int nodes = args.GetInt("nodes", 3);
        int connections = args.GetInt("connections", 1000);
        int latencyConnections = args.GetInt("latency-connections", 30);
        double rate = args.GetDouble("rate", 200);
        double latencySeconds = args.GetDouble("latency-seconds", 20);
        int rounds = args.GetInt("rounds", 2);
        long deliveries = args.GetInt("deliveries", 1_000_000);
        double seconds = args.GetDouble("seconds", 10);
        int noteBytes = args.GetInt("note-bytes", 64);
        int concurrency = args.GetInt("concurrency", 64);
        string redisServer = args.GetString("redis-server", "/usr/bin/redis-server");
        string outDir = args.GetString("out", Path.Combine("benchmarks", "results"));
        args.EnsureAllUsed();
        if (nodes < 1 || connections < nodes || latencyConnections < nodes || rate <= 0 || rounds < 1)
        {
            throw new ArgumentException("--nodes ≥ 1, --connections and --latency-connections ≥ --nodes, --rate > 0, --rounds ≥ 1.");
        }

        var passes = new List<ScaleOutPass>();
        LoadOutput.Line($"=== scaleout: starting {redisServer} ===");
        await using RedisProcess redis = await RedisProcess.StartAsync(redisServer, cancellationToken);
        var configs = new List<ScaleOutCluster>();
        var primed = new List<(string Config, long Sequence)>();
        try
        {
            LoadOutput.Line($"=== redis-server pid {redis.Pid} on 127.0.0.1:{redis.Port}; starting {nodes + 2} server processes ===");
            configs.Add(await ScaleOutCluster.StartAsync("1 node", 1, null, "", noteBytes, cancellationToken));
            configs.Add(await ScaleOutCluster.StartAsync("1 node + Redis", 1, redis, "bench-single", noteBytes, cancellationToken));
            configs.Add(await ScaleOutCluster.StartAsync("cluster", nodes, redis, "bench-cluster", noteBytes, cancellationToken));
            TimeSpan OwnCpu()
            {
                TimeSpan sum = redis.CpuTime() + System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                foreach (ScaleOutCluster c in configs)
                {
                    sum += c.ServerCpu();
                }

                return sum;
            }

            foreach (ScaleOutCluster c in configs)
            {
                await c.PrimeAsync(Primed, cancellationToken);
                primed.Add((c.Config, c.PrimedSequence));
            }

            // (a) + (b): few clients, a fixed rate; the configurations' passes alternate their order every round.
            foreach (ScaleOutCluster c in configs)
            {
                await c.TopUpAsync(latencyConnections, concurrency, cancellationToken);
                ScaleOutPass warm = await c.RunPassAsync(0, "warm-up", rate, (long)(rate * 3), 30, RedisOf(c), OwnCpu, cancellationToken);
                LoadOutput.Line("warm-up " + warm.Describe());
            }

            for (int round = 1; round <= rounds; round++)
            {
                foreach (ScaleOutCluster c in Order(configs, round))
                {
                    LoadOutput.Line($"=== round {round}: {c.Config}, {rate:0}/s for {latencySeconds:0} s, {c.Connections} clients ===");
                    ScaleOutPass pass = await c.RunPassAsync(round, $"rate {rate:0}/s", rate, (long)(rate * latencySeconds), latencySeconds * 3, RedisOf(c), OwnCpu, cancellationToken);
                    passes.Add(pass);
                    Console.WriteLine($"round {round}: {pass.Describe()}");
                }
            }

            // (c): the same total of clients on every configuration, spread evenly over the cluster's nodes, flat out.
            foreach (ScaleOutCluster c in configs)
            {
                LoadOutput.Line($"=== {c.Config}: connecting up to {connections} clients ===");
                await c.TopUpAsync(connections, concurrency, cancellationToken);
                ScaleOutPass warm = await c.RunPassAsync(0, "warm-up", 0, Math.Max(100, 300_000 / connections), 30, RedisOf(c), OwnCpu, cancellationToken);
                LoadOutput.Line("warm-up " + warm.Describe());
            }

            for (int round = 1; round <= rounds; round++)
            {
                foreach (ScaleOutCluster c in Order(configs, round))
                {
                    LoadOutput.Line($"=== round {round}: {c.Config} flat out, {c.Connections} clients ===");
                    ScaleOutPass pass = await c.RunPassAsync(round, "flat out", 0, Math.Max(100, deliveries / connections), seconds, RedisOf(c), OwnCpu, cancellationToken);
                    passes.Add(pass);
                    Console.WriteLine($"round {round}: {pass.Describe()}");
                }
            }
        }
        finally
        {
            foreach (ScaleOutCluster c in configs)
            {
                await c.DisposeAsync();
            }
        }

        var settings = new ScaleOutReport.Settings(nodes, connections, latencyConnections, rate, latencySeconds, deliveries, seconds, noteBytes, primed);
        Directory.CreateDirectory(outDir);
        string markdown = ScaleOutReport.Markdown(passes, settings);
        string mdPath = Path.Combine(outDir, "scaleout-results.md");
        string svgPath = Path.Combine(outDir, "scaleout-chart.svg");
        await File.WriteAllTextAsync(mdPath, markdown, cancellationToken);
        await File.WriteAllTextAsync(svgPath, ScaleOutReport.Chart(passes, settings), cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {mdPath} and {svgPath}");
        return passes.All(p => p.NothingLost) ? 0 : 1;

        RedisProcess? RedisOf(ScaleOutCluster c) => c.Redis ? redis : null;
    }

    /// <summary>The configurations in order on odd rounds, reversed on even ones, so none always runs first or last.</summary>
    private static List<ScaleOutCluster> Order(List<ScaleOutCluster> configs, int round) =>
        round % 2 == 1 ? [.. configs] : [.. Enumerable.Reverse(configs)];
}
