using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>broadcast</c>: N clients on one topic, one publisher, every target in the same run (each its own server process,
/// all up at once): a flat-out pass (delivered messages per second) and a fixed-rate pass (publish-to-receive latency),
/// with exact loss and order accounting. <c>--rounds</c> interleaves the targets' passes, alternating their order, and
/// the command writes a markdown table (every round) and a bar chart (the round with the least noise from other processes).
/// </summary>
/// <remarks>
/// Targets: <c>helios</c> (the host API, <c>RealtimeBroadcaster.BroadcastAsync</c>), <c>helios-push</c> (one client's
/// text broadcast push, <c>self: false</c>), <c>signalr</c> (<c>Clients.Group(g).SendAsync</c>), <c>raw</c> (the
/// raw-WebSocket ceiling of the changes scenario with the broadcast frame). A broadcast has no lag message: any
/// sequence gap is a lost message, and a client closed by the server shows as unaccounted.
/// </remarks>
internal static class BroadcastCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        string[] targets = args.GetStrings("targets", ["helios", "helios-push", "signalr", "raw"]);
        int[] counts = args.GetInts("connections", [1000]);
        int rounds = args.GetInt("rounds", 1);
        double rate = args.GetDouble("rate", 10);
        double latencySeconds = args.GetDouble("latency-seconds", 20);
        long deliveries = args.GetInt("deliveries", 1_000_000);
        double seconds = args.GetDouble("seconds", 10);
        int noteBytes = args.GetInt("note-bytes", 64);
        int concurrency = args.GetInt("concurrency", 64);
        string outDir = args.GetString("out", Path.Combine("benchmarks", "results"));
        args.EnsureAllUsed();

        var rows = new List<BroadcastRow>();
        foreach (int n in counts)
        {
            // Every target's server and clients are up at once, and the rounds interleave their passes (flat out for
            // each target, then the fixed rate for each), so a burst of noise from other processes hits the targets of
            // a round alike instead of whichever target happened to run alone in it.
            var sessions = new List<LoadSession>();
            try
            {
                foreach (string target in targets)
                {
                    LoadOutput.Line($"=== broadcast: {target}, connecting {n} clients ===");
                    LoadSession session = await LoadSession.StartAsync(target, noteBytes, cancellationToken, scenario: "broadcast");
                    sessions.Add(session);
                    await session.ConnectAsync(n, concurrency, cancellationToken);
                    // Long enough for tiered compilation to reach its optimized code (a first run of 50 broadcasts left the
                    // first round at 2-3x the CPU per message of the later ones).
                    await session.RunPassAsync("warm-up", 0, Math.Clamp(300_000 / n, 20, 3000), 30, cancellationToken);
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    await session.RunPassAsync("warm-up", 0, Math.Clamp(300_000 / n, 20, 3000), 30, cancellationToken);
                }

                for (int round = 1; round <= rounds; round++)
                {
                    // Alternate the order between rounds, so no target always runs first (or last).
                    LoadSession[] order = round % 2 == 1 ? [.. sessions] : [.. Enumerable.Reverse(sessions)];
                    var flat = new Dictionary<LoadSession, PassResult>();
                    foreach (LoadSession session in order)
                    {
                        LoadOutput.Line($"=== broadcast round {round}: {session.Label} flat out, {n} connections ===");
                        flat[session] = await session.RunPassAsync("flat out", 0, Math.Clamp(deliveries / n, 100, 1_000_000), seconds, cancellationToken);
                    }

                    foreach (LoadSession session in order)
                    {
                        PassResult paced = await session.RunPassAsync($"rate {rate:0}/s", rate, (long)(rate * latencySeconds), latencySeconds * 3, cancellationToken);
                        int open = session.Fleet.Totals().Open;
                        rows.Add(new BroadcastRow(round, session.Label, n, flat[session], paced, open));
                        Console.WriteLine($"round {round}, {session.Label} N={n}: {open:N0} clients still open\n  {flat[session].Describe()}\n  {paced.Describe()}");
                    }
                }
            }
            finally
            {
                foreach (LoadSession session in sessions)
                {
                    await session.DisposeAsync();
                }
            }
        }

        // The round to chart: the one in which other processes used the least CPU (its worst pass).
        int quiet = rows.GroupBy(r => r.Round).OrderBy(g => g.Max(r => Math.Max(r.Flat.OtherCores, r.Paced.OtherCores))).First().Key;
        Directory.CreateDirectory(outDir);
        string markdown = Markdown(rows, quiet, rate, latencySeconds, noteBytes);
        string mdPath = Path.Combine(outDir, "broadcast-results.md");
        string svgPath = Path.Combine(outDir, "broadcast-chart.svg");
        await File.WriteAllTextAsync(mdPath, markdown, cancellationToken);
        await File.WriteAllTextAsync(svgPath, Chart(rows.Where(r => r.Round == quiet).ToList(), quiet, rate), cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {mdPath} and {svgPath}");
        return rows.All(r => r.NothingLost) ? 0 : 1;
    }

    private static string Markdown(List<BroadcastRow> rows, int quiet, double rate, double latencySeconds, int noteBytes)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores; note {noteBytes} B; charted round: {quiet}.");
        sb.AppendLine();
        sb.AppendLine(c, $"| round | target | conns | frame B | flat out: delivered msg/s | published | unaccounted / gaps / out of order | server CPU µs/msg | server alloc B/msg | publish call p99 | other processes (cores) | rate {rate:0}/s: p50 | p99 | max | unaccounted / gaps / out of order | other processes (cores) | clients open at the end |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (BroadcastRow r in rows)
        {
            sb.AppendLine(c, $"| {r.Round} | {r.Target} | {r.Connections:N0} | {r.Flat.AverageFrameBytes:N0} | {r.Flat.DeliveredPerSecond:N0} | {r.Flat.Published:N0} | {r.Flat.Unaccounted:N0} / {r.Flat.Gaps:N0} / {r.Flat.OutOfOrder:N0} | {r.Flat.ServerCpuPerMessageUs:0.00} | {r.Flat.AllocatedPerMessage:N0} | {r.Flat.NotifyP99Ns / 1000.0:0.0} µs | {r.Flat.OtherCores:0.00} | "
                + $"{LatencySummary.Format(r.Paced.Latency.P50)} | {LatencySummary.Format(r.Paced.Latency.P99)} | {LatencySummary.Format(r.Paced.Latency.Max)} | {r.Paced.Unaccounted:N0} / {r.Paced.Gaps:N0} / {r.Paced.OutOfOrder:N0} | {r.Paced.OtherCores:0.00} | {r.Open:N0} |");
        }

        sb.AppendLine();
        sb.AppendLine(c, $"Flat out = as fast as each target delivers (HeliosNano and raw keep the average backlog under {LoadPublisher.FlatOutWindow} messages per client; SignalR pushes back through its awaited SendAsync). "
            + $"Latency pass: {rate:0} broadcasts/s for {latencySeconds:0} s, publish-to-receive on the machine's monotonic clock. Every client must receive every message in order: unaccounted = expected − received.");
        sb.AppendLine();
        sb.AppendLine("Targets of issue 8, per round (ratios within one round only):");
        sb.AppendLine();
        foreach (IGrouping<(int Round, int Connections), BroadcastRow> g in rows.GroupBy(r => (r.Round, r.Connections)))
        {
            BroadcastRow? raw = g.FirstOrDefault(r => r.Target == "raw");
            BroadcastRow? signalr = g.FirstOrDefault(r => r.Target == "signalr");
            foreach (BroadcastRow h in g.Where(r => r.Target.StartsWith("helios", StringComparison.Ordinal)))
            {
                string vsSignalR = signalr is null ? "no SignalR row" : Verdict(h.Flat.DeliveredPerSecond / Math.Max(1, signalr.Flat.DeliveredPerSecond), 1.5, "x SignalR");
                string vsRaw = raw is null ? "no raw row" : Verdict(h.Flat.DeliveredPerSecond / Math.Max(1, raw.Flat.DeliveredPerSecond), 0.7, "x raw");
                sb.AppendLine(c, $"- round {g.Key.Round}, {g.Key.Connections:N0} conns, {h.Target}: {vsSignalR}; {vsRaw}; nothing lost: {(h.NothingLost ? "yes" : "NO")}");
            }
        }

        return sb.ToString();

        static string Verdict(double ratio, double target, string unit) =>
            string.Create(CultureInfo.InvariantCulture, $"{ratio:0.00}{unit} (target ≥ {target:0.0}: {(ratio >= target ? "met" : "MISSED")})");
    }

    private static string Chart(List<BroadcastRow> rows, int round, double rate)
    {
        var flat = rows.Select(r => ($"{r.Connections:N0} clients", r.Target, r.Flat.DeliveredPerSecond)).ToList();
        var p99 = rows.Select(r => ($"{r.Connections:N0} clients", r.Target, r.Paced.Latency.P99 / 1000.0)).ToList();
        return BarChart.Render(
            $"Broadcast to one topic, round {round}: every client receives every message (0 lost)",
            new BarChart.Panel("Delivered messages/s (flat out)", BarChart.Number, flat),
            new BarChart.Panel(string.Create(CultureInfo.InvariantCulture, $"p99 publish→receive latency, ms (at {rate:0}/s)"), BarChart.Number, p99));
    }
}

/// <summary>One target at one connection count in one round.</summary>
internal sealed record BroadcastRow(int Round, string Target, int Connections, PassResult Flat, PassResult Paced, int Open)
{
    public bool NothingLost => Open == Connections
        && Flat.Unaccounted == 0 && Flat.Gaps == 0 && Flat.OutOfOrder == 0
        && Paced.Unaccounted == 0 && Paced.Gaps == 0 && Paced.OutOfOrder == 0;
}
