using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>The scaleout command's markdown tables, verdicts, 10-node estimate and bar chart.</summary>
internal static class ScaleOutReport
{
    /// <summary>Redis's script calls: StackExchange.Redis sends a script by its SHA once it is loaded.</summary>
    private static readonly string[] s_scriptCommands = ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"];

    /// <summary>The run's options, as the report quotes them.</summary>
    public sealed record Settings(int Nodes, int Connections, int LatencyConnections, double Rate, double LatencySeconds, long Deliveries, double Seconds, int NoteBytes, IReadOnlyList<(string Config, long Sequence)> Primed);

    public static string Markdown(List<ScaleOutPass> passes, Settings s)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        List<ScaleOutPass> paced = [.. passes.Where(p => p.Rate > 0)];
        List<ScaleOutPass> flat = [.. passes.Where(p => p.Rate <= 0)];
        sb.Append(c, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores for everything: the {s.Nodes} cluster nodes, the two single nodes, redis-server and the client fleet (this tool). ");
        sb.Append(c, $"One redis-server of the run's own, shared by the cluster's nodes (one prefix) and the \"1 node + Redis\" configuration (its own prefix), no persistence. Note {s.NoteBytes} B. ");
        sb.Append("Configurations: **1 node** = `serve --scenario scaleout` without Redis; **1 node + Redis** = the same with `--redis` (every change goes through the Redis log even with one node); ");
        sb.AppendLine(c, $"**cluster** = {s.Nodes} such processes on one prefix, the publisher always on node 0 (the writer).");
        sb.AppendLine();
        sb.AppendLine(c, $"Through Redis, also on the writer: after {ScaleOutCommand.Primed} changes published on node 0 before any client joined, every node's ring stood at {string.Join("; ", s.Primed.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Config} {p.Sequence:N0}")))}. ");
        sb.AppendLine("With a sequencer `Notify` only queues the change for the backplane; the Redis script numbers it (its first epoch starts after a jump of 1,048,576) and each node's tail loop, the writer's too, publishes it into its ring from the stream.");
        sb.AppendLine();
        sb.AppendLine(c, $"### (a) Notify → receive latency at {s.Rate:0} changes/s for {s.LatencySeconds:0} s, {s.LatencyConnections} clients per configuration (spread over the nodes)");
        sb.AppendLine();
        sb.AppendLine("| round | configuration | clients | published | writer's node: p50 | p99 | max | other nodes: p50 | p99 | max | publish call p99 | appends / change | reads / node / change | unaccounted / lagged / gaps / reordered | server CPU s | redis CPU µs/change | other processes (cores) |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ScaleOutPass p in paced)
        {
            sb.AppendLine(c, $"| {p.Round} | {p.Config} | {p.Connections:N0} | {p.Published:N0} | {Ms(p.SameNode.P50)} | {Ms(p.SameNode.P99)} | {Ms(p.SameNode.Max)} | {Other(p, p.OtherNodes.P50)} | {Other(p, p.OtherNodes.P99)} | {Other(p, p.OtherNodes.Max)} | {p.NotifyP99Ns / 1000.0:0.0} µs | {PerChange(p, p.AppendsPerChange)} | {PerChange(p, p.ReadsPerNodePerChange)} | {Accounting(p)} | {p.ServerCpu.TotalSeconds:0.00} | {(p.Redis ? p.RedisCpuPerChangeUs.ToString("0.0", c) : "—")} | {p.OtherCores:0.00} |");
        }

        sb.AppendLine();
        sb.AppendLine("Added latency, per round (the same round's passes only; negative = within noise):");
        sb.AppendLine();
        foreach (IGrouping<int, ScaleOutPass> g in paced.GroupBy(p => p.Round))
        {
            ScaleOutPass? single = g.FirstOrDefault(p => p.Config == "1 node");
            ScaleOutPass? singleRedis = g.FirstOrDefault(p => p.Config == "1 node + Redis");
            ScaleOutPass? cluster = g.FirstOrDefault(p => p.Config == "cluster");
            if (single is null || cluster is null)
            {
                continue;
            }

            sb.Append(c, $"- round {g.Key}: other node vs 1 node: p50 {Delta(cluster.OtherNodes.P50, single.SameNode.P50)}, p99 {Delta(cluster.OtherNodes.P99, single.SameNode.P99)}; ");
            sb.AppendLine(c, $"writer's node vs 1 node: p50 {Delta(cluster.SameNode.P50, single.SameNode.P50)}, p99 {Delta(cluster.SameNode.P99, single.SameNode.P99)}{(singleRedis is null ? "" : $"; 1 node + Redis vs 1 node: p50 {Delta(singleRedis.SameNode.P50, single.SameNode.P50)}, p99 {Delta(singleRedis.SameNode.P99, single.SameNode.P99)}")}");
        }

        sb.AppendLine();
        sb.AppendLine("### (b) Redis operations per change (`INFO commandstats` before and after each pass, divided by the changes published)");
        sb.AppendLine();
        sb.AppendLine("Commands run inside the append script (XADD, PUBLISH, HSET, SET, GET, HGET, INFO) are counted under their own names as well. The commandstats cover the whole Redis, i.e. also the other configuration's idle node(s), which read once per second (the probe) and sweep presence every 5 s; the backplane's own counters (appends, reads per node, in table (a) and (c)) are per configuration.");
        sb.AppendLine();
        sb.AppendLine("| round | configuration | pass | changes | script calls / change | XADD / change | PUBLISH / change | XRANGE / change (all nodes) | XRANGE / node / change | µs per script call | of which µs per XADD / INFO (the script's INFO server, plus the tool's 2 INFO commandstats) | µs per XRANGE | Redis server µs / change (commandstats) | other commands in the pass |");
        sb.AppendLine("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (ScaleOutPass p in passes.Where(p => p.Commands is not null))
        {
            RedisCommandStats k = p.Commands!;
            double n = Math.Max(1, p.Published);
            long scripts = s_scriptCommands.Sum(k.Calls);
            long scriptUs = s_scriptCommands.Sum(k.Microseconds);
            long totalUs = k.Commands.Where(x => x != "info").Sum(k.Microseconds) - InScripts(k);
            string others = string.Join(", ", k.Commands.Where(x => !s_scriptCommands.Contains(x) && x is not "xadd" and not "publish" and not "xrange" and not "info")
                .Select(x => string.Create(c, $"{x} {k.Calls(x)}")));
            sb.AppendLine(c, $"| {p.Round} | {p.Config} | {p.Mode} | {p.Published:N0} | {scripts / n:0.000} | {k.Calls("xadd") / n:0.000} | {k.Calls("publish") / n:0.000} | {k.Calls("xrange") / n:0.000} | {k.Calls("xrange") / n / p.Nodes:0.000} | {(scripts == 0 ? 0 : scriptUs / (double)scripts):0.0} | {k.MicrosecondsPerCall("xadd"):0.0} / {k.MicrosecondsPerCall("info"):0.0} | {k.MicrosecondsPerCall("xrange"):0.0} | {totalUs / n:0.0} | {others} |");
        }

        sb.AppendLine();
        sb.AppendLine(c, $"### (c) Delivered msg/s flat out, {s.Connections:N0} clients per configuration (cluster: spread evenly over {s.Nodes} nodes), up to {Math.Max(100, s.Deliveries / s.Connections):N0} changes or {s.Seconds:0} s");
        sb.AppendLine();
        sb.AppendLine("| round | configuration | clients | published | delivered msg/s | vs 1 node | server CPU µs/msg (all nodes) | redis CPU µs/change | appends / change | reads / node / change | unaccounted / lagged / gaps / reordered | other processes (cores) |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ScaleOutPass p in flat)
        {
            ScaleOutPass? single = flat.FirstOrDefault(q => q.Round == p.Round && q.Config == "1 node");
            string ratio = single is null || single.DeliveredPerSecond == 0 ? "—" : (p.DeliveredPerSecond / single.DeliveredPerSecond).ToString("0.00", c) + "×";
            sb.AppendLine(c, $"| {p.Round} | {p.Config} | {p.Connections:N0} | {p.Published:N0} | {p.DeliveredPerSecond:N0} | {ratio} | {p.ServerCpuPerMessageUs:0.00} | {(p.Redis ? p.RedisCpuPerChangeUs.ToString("0.0", c) : "—")} | {PerChange(p, p.AppendsPerChange)} | {PerChange(p, p.ReadsPerNodePerChange)} | {Accounting(p)} | {p.OtherCores:0.00} |");
        }

        sb.AppendLine();
        sb.AppendLine("### Verdicts");
        sb.AppendLine();
        List<ScaleOutPass> redisPasses = [.. passes.Where(p => p.Redis)];
        double maxAppends = redisPasses.Select(p => p.AppendsPerChange).DefaultIfEmpty(0).Max();
        double maxReads = redisPasses.Select(p => p.ReadsPerNodePerChange).DefaultIfEmpty(0).Max();
        // A node also reads once per probe interval (1 s) without a wake-up: allow that much above one read per change.
        bool readsHold = redisPasses.All(p => p.ReadsPerNode.All(r => r <= p.Published + Math.Ceiling(p.Seconds + 1)));
        sb.AppendLine(c, $"- One append per change (a batch of many changes counts as fewer): max {maxAppends:0.000} appends per change over every Redis pass (fixed rate: {Range(redisPasses.Where(p => p.Rate > 0), p => p.AppendsPerChange)}; flat out: {Range(redisPasses.Where(p => p.Rate <= 0), p => p.AppendsPerChange)}) — **{(maxAppends <= 1.0 ? "holds" : "MISSED")}**.");
        sb.AppendLine(c, $"- One batched read per node, not per connection: max {maxReads:0.000} reads per node per change (fixed rate with {s.LatencyConnections} clients: {Range(redisPasses.Where(p => p.Rate > 0), p => p.ReadsPerNodePerChange)}; flat out with {s.Connections:N0}: {Range(redisPasses.Where(p => p.Rate <= 0), p => p.ReadsPerNodePerChange)}); reads never exceed one per change plus one probe per second — **{(readsHold ? "holds" : "MISSED")}**.");
        sb.AppendLine(c, $"- Nothing lost: {passes.Sum(p => p.Unaccounted):N0} unaccounted, {passes.Sum(p => p.Lagged):N0} lagged, {passes.Sum(p => p.Gaps):N0} gaps, {passes.Sum(p => p.OutOfOrder):N0} reordered over {passes.Sum(p => p.Expected):N0} expected deliveries — **{(passes.All(p => p.NothingLost) ? "holds" : "MISSED")}**.");
        sb.AppendLine(c, $"- Other processes used {passes.Select(p => p.OtherCores).DefaultIfEmpty(0).Min():0.00}–{passes.Select(p => p.OtherCores).DefaultIfEmpty(0).Max():0.00} cores during the passes: the figures are noisy.");
        sb.AppendLine();
        sb.AppendLine(TenNodes(passes.Where(p => p.Config == "cluster" && p.Commands is not null).ToList()));
        return sb.ToString();

        static string Other(ScaleOutPass p, long micros) => p.Nodes > 1 ? Ms(micros) : "—";

        static string PerChange(ScaleOutPass p, double v) => p.Redis ? v.ToString("0.000", CultureInfo.InvariantCulture) : "—";

        static string Accounting(ScaleOutPass p) => string.Create(CultureInfo.InvariantCulture, $"{p.Unaccounted:N0} / {p.Lagged:N0} / {p.Gaps:N0} / {p.OutOfOrder:N0}");

        static string Delta(long a, long b) => (a - b) switch
        {
            >= 0 and var d => "+" + LatencySummary.Format(d),
            var d => "−" + LatencySummary.Format(-d),
        };

        static string Range(IEnumerable<ScaleOutPass> ps, Func<ScaleOutPass, double> f)
        {
            double[] v = [.. ps.Select(f)];
            return v.Length == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{v.Min():0.000}–{v.Max():0.000}");
        }
    }

    /// <summary>Server time of commands a script ran, which its script call's time already includes.</summary>
    private static long InScripts(RedisCommandStats k) => k.Microseconds("xadd") + k.Microseconds("publish") + k.Microseconds("hset") + k.Microseconds("hget") + k.Microseconds("set") + k.Microseconds("get") + k.Microseconds("xrevrange");

    /// <summary>The design at 10 nodes, from the cluster's measured per-operation costs.</summary>
    private static string TenNodes(List<ScaleOutPass> cluster)
    {
        var c = CultureInfo.InvariantCulture;
        if (cluster.Count == 0)
        {
            return "";
        }

        var sb = new StringBuilder("### At 10 nodes, on paper (from the cluster passes' measured Redis costs)\n\n");
        foreach (ScaleOutPass p in cluster)
        {
            RedisCommandStats k = p.Commands!;
            long scripts = s_scriptCommands.Sum(k.Calls);
            double scriptUs = scripts == 0 ? 0 : s_scriptCommands.Sum(k.Microseconds) / (double)scripts;
            double readUs = k.MicrosecondsPerCall("xrange");
            double appendsPerChange = p.AppendsPerChange;
            double readsPerNode = p.ReadsPerNode.Count == 0 ? 0 : p.ReadsPerNode.Average() / Math.Max(1, p.Published);
            double now = (appendsPerChange * scriptUs) + (p.Nodes * readsPerNode * readUs);
            double ten = (appendsPerChange * scriptUs) + (10 * readsPerNode * readUs);
            sb.Append(c, $"- {p.Mode}, round {p.Round}: {appendsPerChange:0.000} appends × {scriptUs:0.0} µs + nodes × {readsPerNode:0.000} reads × {readUs:0.0} µs per change = {now:0.0} µs of Redis time per change at {p.Nodes} nodes, ");
            sb.AppendLine(c, $"{ten:0.0} µs at 10 (one PUBLISH per append, delivered to 10 subscribers instead of {p.Nodes}); one Redis core would then carry ≈{(ten > 0 ? 1_000_000 / ten : 0):N0} changes/s.");
        }

        return sb.ToString();
    }

    public static string Chart(List<ScaleOutPass> passes, Settings s)
    {
        var p50 = new List<(string, string, double)>();
        var p99 = new List<(string, string, double)>();
        foreach (ScaleOutPass p in passes.Where(p => p.Rate > 0))
        {
            string round = $"round {p.Round}";
            string series = p.Config == "cluster" ? "cluster: writer's node" : p.Config;
            p50.Add((round, series, p.SameNode.P50 / 1000.0));
            p99.Add((round, series, p.SameNode.P99 / 1000.0));
            if (p.Config == "cluster" && p.Nodes > 1)
            {
                p50.Add((round, "cluster: other node", p.OtherNodes.P50 / 1000.0));
                p99.Add((round, "cluster: other node", p.OtherNodes.P99 / 1000.0));
            }
        }

        var flat = passes.Where(p => p.Rate <= 0).Select(p => ($"round {p.Round}", p.Config, p.DeliveredPerSecond)).ToList();
        CultureInfo c = CultureInfo.InvariantCulture;
        return BarChart.Render(
            string.Create(c, $"Scale-out through Redis: cluster = {s.Nodes} nodes, writer = node 0; every client received every change (see scaleout-results.md)"),
            new BarChart.Panel(string.Create(c, $"p50 notify→receive, ms ({s.Rate:0}/s, {s.LatencyConnections} clients)"), BarChart.Number, p50),
            new BarChart.Panel(string.Create(c, $"p99 notify→receive, ms ({s.Rate:0}/s)"), BarChart.Number, p99),
            new BarChart.Panel(string.Create(c, $"Delivered msg/s flat out, {s.Connections:N0} clients"), BarChart.Number, flat));
    }

    private static string Ms(long micros) => LatencySummary.Format(micros);
}
