using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>bench</c>: every target at every connection count, same payload and rates, each in a fresh server process:
/// a flat-out pass (delivered messages per second) and a fixed-rate pass (notify-to-receive latency), plus memory
/// per connection idle and under load. Writes a markdown table and an SVG chart.
/// </summary>
internal static class BenchCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        string[] targets = args.GetStrings("targets", ["helios", "signalr", "raw"]);
        int[] counts = args.GetInts("connections", [1, 100, 1000]);
        double rate = args.GetDouble("rate", 5);
        double latencySeconds = args.GetDouble("latency-seconds", 20);
        long deliveries = args.GetInt("deliveries", 400_000);
        double seconds = args.GetDouble("seconds", 10);
        int noteBytes = args.GetInt("note-bytes", 64);
        int concurrency = args.GetInt("concurrency", 64);
        string outDir = args.GetString("out", Path.Combine("benchmarks", "results"));
        string? machine = args.GetOptionalString("machine-note");
        args.EnsureAllUsed();

        var rows = new List<BenchRow>();
        foreach (int n in counts)
        {
            foreach (string target in targets)
            {
                LoadOutput.Line($"=== {target}, {n} connections ===");
                await using LoadSession session = await LoadSession.StartAsync(target, noteBytes, cancellationToken);
                await session.ConnectAsync(n, concurrency, cancellationToken);
                long warmup = Math.Clamp(20_000 / n, 20, 200);
                await session.RunPassAsync("warm-up", 0, warmup, 30, cancellationToken);
                long flatCount = Math.Clamp(deliveries / n, 100, 1_000_000);
                PassResult flat = await session.RunPassAsync("flat out", 0, flatCount, seconds, cancellationToken);
                PassResult paced = await session.RunPassAsync($"rate {rate:0}/s", rate, (long)(rate * latencySeconds), latencySeconds * 3, cancellationToken);
                var row = new BenchRow(target, n, session.Baseline, session.Idle, flat, paced);
                rows.Add(row);
                Console.WriteLine($"{target} N={n}:\n{RunCommand.MemoryLine(session, paced)}\n  {flat.Describe()}\n  {paced.Describe()}");
            }
        }

        Directory.CreateDirectory(outDir);
        string markdown = Markdown(rows, rate, latencySeconds, noteBytes, machine);
        string mdPath = Path.Combine(outDir, "loadtest-results.md");
        string svgPath = Path.Combine(outDir, "loadtest-chart.svg");
        await File.WriteAllTextAsync(mdPath, markdown, cancellationToken);
        await File.WriteAllTextAsync(svgPath, SvgChart.Render(rows, rate), cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {mdPath} and {svgPath}");
        return rows.All(r => r.Flat.Unaccounted == 0 && r.Paced.Unaccounted == 0) ? 0 : 1;
    }

    private static string Markdown(List<BenchRow> rows, double rate, double latencySeconds, int noteBytes, string? machine)
    {
        var sb = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores; {machine ?? "machine: see README"}; row note {noteBytes} B.");
        sb.AppendLine();
        sb.AppendLine(c, $"| target | conns | frame B | flat out: delivered msg/s | flat out: lagged / unaccounted | server CPU µs/msg | server alloc B/msg | other processes (cores) | rate {rate:0}/s: p50 | p99 | max | lagged / unaccounted | publish call p99 | idle RSS KB/conn | idle managed KB/conn | peak RSS KB/conn under load |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (BenchRow r in rows)
        {
            double n = r.Connections;
            sb.AppendLine(c, $"| {r.Target} | {r.Connections:N0} | {r.Flat.AverageFrameBytes:N0} | {r.Flat.DeliveredPerSecond:N0} | {r.Flat.Lagged:N0} / {r.Flat.Unaccounted:N0} | {r.Flat.ServerCpuPerMessageUs:0.00} | {r.Flat.AllocatedPerMessage:N0} | {r.Flat.OtherCores:0.00} | "
                + $"{LatencySummary.Format(r.Paced.Latency.P50)} | {LatencySummary.Format(r.Paced.Latency.P99)} | {LatencySummary.Format(r.Paced.Latency.Max)} | {r.Paced.Lagged:N0} / {r.Paced.Unaccounted:N0} | "
                + $"{r.Paced.NotifyP99Ns / 1000.0:0.0} µs | {(r.Idle.Rss - r.Baseline.Rss) / n / 1024:0.0} | {(r.Idle.Managed - r.Baseline.Managed) / n / 1024:0.0} | "
                + $"{(Math.Max(r.Flat.PeakRss, r.Paced.PeakRss) - r.Baseline.Rss) / n / 1024:0.0} |");
        }

        sb.AppendLine();
        sb.AppendLine(c, $"Flat out = as fast as each target delivers (the HeliosNano, ring and raw publishers keep the average backlog under {LoadPublisher.FlatOutWindow} frames per connection; SignalR pushes back through its awaited SendAsync). "
            + $"Latency pass: {rate:0} changes/s for {latencySeconds:0} s, notify-to-receive on the machine's monotonic clock. Memory: server process, minus the baseline before any client; managed after a forced GC.");
        sb.AppendLine();
        sb.Append(Targets(rows));
        return sb.ToString();
    }

    /// <summary>Issue 5's targets, evaluated at the largest connection count up to 1,000 present for all three targets.</summary>
    private static string Targets(List<BenchRow> rows)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        int n = rows.Where(r => r.Connections <= 1000).Select(r => r.Connections).DefaultIfEmpty(0).Max();
        BenchRow? h = rows.FirstOrDefault(r => r.Target == "helios" && r.Connections == n);
        BenchRow? s = rows.FirstOrDefault(r => r.Target == "signalr" && r.Connections == n);
        BenchRow? raw = rows.FirstOrDefault(r => r.Target == "raw" && r.Connections == n);
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Targets of issue 5 at {n:N0} connections:");
        sb.AppendLine();
        if (h is not null && s is not null)
        {
            double ratio = h.Flat.DeliveredPerSecond / Math.Max(1, s.Flat.DeliveredPerSecond);
            sb.AppendLine(c, $"- throughput vs SignalR: {ratio:0.00}x (target ≥ 1.5x): {(ratio >= 1.5 ? "met" : "MISSED")}");
            long hp = h.Paced.Latency.P99, sp = s.Paced.Latency.P99;
            sb.AppendLine(c, $"- p99 latency at the fixed rate: HeliosNano {LatencySummary.Format(hp)} vs SignalR {LatencySummary.Format(sp)} (target ≤): {(hp <= sp ? "met" : "MISSED")}");
            double hm = (h.Idle.Rss - h.Baseline.Rss) / (double)n, sm = (s.Idle.Rss - s.Baseline.Rss) / (double)n;
            double hmm = (h.Idle.Managed - h.Baseline.Managed) / (double)n, smm = (s.Idle.Managed - s.Baseline.Managed) / (double)n;
            sb.AppendLine(c, $"- idle memory per connection: RSS {hm / 1024:0.0} KB vs SignalR {sm / 1024:0.0} KB, managed {hmm / 1024:0.0} KB vs {smm / 1024:0.0} KB (target ≤ SignalR): {(hm <= sm && hmm <= smm ? "met" : "MISSED")}");
        }

        if (h is not null && raw is not null)
        {
            double ratio = h.Flat.DeliveredPerSecond / Math.Max(1, raw.Flat.DeliveredPerSecond);
            sb.AppendLine(c, $"- throughput vs raw limit: {ratio:P0} (target ≥ 50%): {(ratio >= 0.5 ? "met" : "MISSED")}");
        }

        return sb.ToString();
    }
}

/// <summary>One target at one connection count.</summary>
internal sealed record BenchRow(string Target, int Connections, MemoryPoint Baseline, MemoryPoint Idle, PassResult Flat, PassResult Paced);
