using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>presence</c>: members join one topic and track, one after another, up to <c>--members</c>. At each checkpoint
/// (e.g. 10, 100, 500, 1,000 members) the last <c>--sample</c> joins are made one at a time and measured: the
/// server's CPU per join (join, presence_state, track, and the diff to every member), the time until the diff has
/// reached the first and the last existing member, and the bytes of each presence_diff and presence_state.
/// </summary>
/// <remarks>
/// A diff carries only what changed (the one join), so its bytes must stay flat in the number of members; the work
/// per join grows with the members only through delivering that diff to each of them (and the presence_state sent to
/// the joiner, which lists everyone). Server CPU is read from the server's own <c>Environment.CpuUsage</c> (finer
/// than /proc's 10 ms ticks), minus the measured cost of the stats requests; sockets are opened before the window.
/// </remarks>
internal static class PresenceCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        int[] checkpoints = args.GetInts("checkpoints", [10, 100, 500, 1000]);
        int sample = args.GetInt("sample", 20);
        int concurrency = args.GetInt("concurrency", 16);
        string outDir = args.GetString("out", Path.Combine("benchmarks", "results"));
        args.EnsureAllUsed();
        Array.Sort(checkpoints);

        await using LoadSession session = await LoadSession.StartAsync("helios", 0, cancellationToken, scenario: "presence");
        ServerProcess server = session.Server;
        long statsCost = await MeasureStatsCostAsync(server, cancellationToken);
        var members = new List<PresenceMember>();
        var rows = new List<PresenceRow>();
        try
        {
            foreach (int checkpoint in checkpoints)
            {
                int s = Math.Min(sample, Math.Max(1, checkpoint / 2));
                await FillAsync(server, members, checkpoint - s, concurrency, cancellationToken);
                rows.Add(await SampleAsync(server, members, s, statsCost, cancellationToken));
                PresenceRow r = rows[^1];
                LoadOutput.Line($"presence: {r.MembersBefore:N0}-{r.MembersBefore + r.Joins - 1:N0} members present: {r.CpuPerJoinUs:N0} µs server CPU per join, diff {r.DiffBytesMin}-{r.DiffBytesMax} B, state {r.StateBytes:N0} B, diff at last member p50 {r.DiffLastP50Ms:0.00} ms");
            }
        }
        finally
        {
            foreach (PresenceMember m in members)
            {
                m.Abort();
            }
        }

        Directory.CreateDirectory(outDir);
        string markdown = Markdown(rows, statsCost);
        string mdPath = Path.Combine(outDir, "presence-results.md");
        string svgPath = Path.Combine(outDir, "presence-chart.svg");
        await File.WriteAllTextAsync(mdPath, markdown, cancellationToken);
        await File.WriteAllTextAsync(svgPath, Chart(rows), cancellationToken);
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {mdPath} and {svgPath}");
        bool flat = rows.Max(r => r.DiffBytesMax) - rows.Min(r => r.DiffBytesMin) <= 8;
        Console.WriteLine(flat ? "PASS: every presence_diff has the same size (within 8 B) at every member count" : "FAIL: presence_diff size varies with the member count");
        return flat ? 0 : 1;
    }

    /// <summary>Joins and tracks members concurrently until there are <paramref name="target"/>, then waits until their diffs settle.</summary>
    private static async Task FillAsync(ServerProcess server, List<PresenceMember> members, int target, int concurrency, CancellationToken cancellationToken)
    {
        if (members.Count >= target)
        {
            return;
        }

        PresenceMember[] fresh = [.. Enumerable.Range(members.Count, target - members.Count).Select(i => new PresenceMember(i))];
        await Parallel.ForEachAsync(fresh, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (m, ct) =>
        {
            await m.ConnectAsync(server.ClientUri, ct);
            await m.JoinAsync(ct);
            await m.TrackAsync(Stopwatch.GetTimestamp(), ct);
        });
        members.AddRange(fresh);

        // Every member that was there before a track receives its diff: wait until nothing arrives any more.
        long last = -1;
        while (true)
        {
            long total = members.Sum(m => Interlocked.Read(ref m.Diffs));
            if (total == last)
            {
                return;
            }

            last = total;
            await Task.Delay(300, cancellationToken);
        }
    }

    private static async Task<PresenceRow> SampleAsync(ServerProcess server, List<PresenceMember> members, int joins, long statsCost, CancellationToken cancellationToken)
    {
        int before = members.Count;
        PresenceMember[] sampled = [.. Enumerable.Range(before, joins).Select(i => new PresenceMember(i))];
        foreach (PresenceMember m in sampled)
        {
            await m.ConnectAsync(server.ClientUri, cancellationToken);
        }

        var joinMs = new List<double>();
        var trackMs = new List<double>();
        var firstMs = new List<double>();
        var lastMs = new List<double>();
        var states = new List<int>();
        int diffMin = int.MaxValue, diffMax = 0;
        (double busy0, _) = LoadSession.MachineCpu();
        TimeSpan tool0 = Process.GetCurrentProcess().TotalProcessorTime;
        long wall0 = Stopwatch.GetTimestamp();
        ServerStats s0 = await server.GetStatsAsync(false, cancellationToken);
        foreach (PresenceMember m in sampled)
        {
            PresenceMember[] existing = [.. members];
            long[] diffsBefore = [.. existing.Select(e => Interlocked.Read(ref e.Diffs))];
            await m.JoinAsync(cancellationToken);
            long t0 = Stopwatch.GetTimestamp();
            await m.TrackAsync(t0, cancellationToken);

            // The diff of this one join must reach every existing member (and the joiner itself).
            long deadline = t0 + (30 * Stopwatch.Frequency);
            while (existing.Where((e, i) => Interlocked.Read(ref e.Diffs) <= diffsBefore[i]).Any() || Interlocked.Read(ref m.Diffs) == 0)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"The diff of member {m.Id} did not reach every member within 30 s.");
                }

                await Task.Delay(1, cancellationToken);
            }

            double[] arrivals = [.. existing.Select(e => (Volatile.Read(ref e.LastDiffTicks) - t0) * 1000.0 / Stopwatch.Frequency)];
            joinMs.Add(m.JoinTicks * 1000.0 / Stopwatch.Frequency);
            trackMs.Add(m.TrackTicks * 1000.0 / Stopwatch.Frequency);
            firstMs.Add(arrivals.Length == 0 ? 0 : arrivals.Min());
            lastMs.Add(arrivals.Length == 0 ? 0 : arrivals.Max());
            states.Add(m.StateBytes);
            foreach (int bytes in existing.Select(e => e.LastDiffBytes).Append(m.LastDiffBytes))
            {
                diffMin = Math.Min(diffMin, bytes);
                diffMax = Math.Max(diffMax, bytes);
            }

            members.Add(m);
        }

        ServerStats s1 = await server.GetStatsAsync(false, cancellationToken);
        double wall = Stopwatch.GetElapsedTime(wall0).TotalSeconds;
        (double busy1, _) = LoadSession.MachineCpu();
        double tool = (Process.GetCurrentProcess().TotalProcessorTime - tool0).TotalSeconds;
        double serverCpu = Math.Max(0, s1.CpuMicroseconds - s0.CpuMicroseconds - statsCost);
        double meanExisting = before + ((joins - 1) / 2.0);
        return new PresenceRow
        {
            MembersBefore = before,
            Joins = joins,
            CpuPerJoinUs = serverCpu / joins,
            CpuPerDeliveredDiffUs = serverCpu / joins / (meanExisting + 1),
            StateBytes = states.Average(),
            JoinP50Ms = Median(joinMs),
            TrackP50Ms = Median(trackMs),
            DiffFirstP50Ms = Median(firstMs),
            DiffLastP50Ms = Median(lastMs),
            DiffLastMaxMs = lastMs.Max(),
            DiffBytesMin = diffMin,
            DiffBytesMax = diffMax,
            OtherCores = Math.Max(0, ((busy1 - busy0) / 100.0) - (serverCpu / 1e6) - tool) / wall,
        };
    }

    /// <summary>The server CPU that one stats request costs (median of 7 back-to-back pairs), subtracted from each window.</summary>
    private static async Task<long> MeasureStatsCostAsync(ServerProcess server, CancellationToken cancellationToken)
    {
        var costs = new List<long>();
        for (int i = 0; i < 7; i++)
        {
            ServerStats a = await server.GetStatsAsync(false, cancellationToken);
            ServerStats b = await server.GetStatsAsync(false, cancellationToken);
            costs.Add(b.CpuMicroseconds - a.CpuMicroseconds);
        }

        costs.Sort();
        return costs[costs.Count / 2];
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }

    private static string Markdown(List<PresenceRow> rows, long statsCost)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores; one topic; joins measured one at a time; stats request cost subtracted: {statsCost} µs.");
        sb.AppendLine();
        sb.AppendLine("| members present | joins measured | server CPU per join | per delivered diff | presence_diff frame B | presence_state frame B | join→state p50 | track→reply p50 | track→diff at first member p50 | at last member p50 | at last member max | other processes (cores) |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PresenceRow r in rows)
        {
            string diff = r.DiffBytesMin == r.DiffBytesMax ? r.DiffBytesMin.ToString(c) : $"{r.DiffBytesMin}–{r.DiffBytesMax}";
            sb.AppendLine(c, $"| {r.MembersBefore:N0}–{r.MembersBefore + r.Joins - 1:N0} | {r.Joins} | {r.CpuPerJoinUs:N0} µs | {r.CpuPerDeliveredDiffUs:0.00} µs | {diff} | {r.StateBytes:N0} | {r.JoinP50Ms:0.00} ms | {r.TrackP50Ms:0.00} ms | {r.DiffFirstP50Ms:0.00} ms | {r.DiffLastP50Ms:0.00} ms | {r.DiffLastMaxMs:0.00} ms | {r.OtherCores:0.00} |");
        }

        sb.AppendLine();
        sb.AppendLine("Server CPU per join covers the phx_join and its reply, the presence_state (every member's meta) to the joiner, the track and its reply, and the presence_diff to every member (existing members + the joiner); \"per delivered diff\" divides it by the members that received the diff.");
        return sb.ToString();
    }

    private static string Chart(List<PresenceRow> rows)
    {
        double X(PresenceRow r) => r.MembersBefore + ((r.Joins - 1) / 2.0);
        return LineChart.Render(
            "Presence: members joining one topic, one join at a time",
            new LineChart.Panel("Frame bytes per join", "members present", BarChart.Number,
            [
                new("presence_diff (to every member)", "#d9480f", [.. rows.Select(r => (X(r), (double)r.DiffBytesMax))]),
                new("presence_state (to the joiner)", "#1c7ed6", [.. rows.Select(r => (X(r), r.StateBytes))]),
            ]),
            new LineChart.Panel("Server CPU, µs", "members present", BarChart.Number,
            [
                new("per join", "#d9480f", [.. rows.Select(r => (X(r), r.CpuPerJoinUs))]),
                new("per join per member reached", "#2b8a3e", [.. rows.Select(r => (X(r), r.CpuPerDeliveredDiffUs))]),
            ]));
    }
}

/// <summary>One checkpoint of the presence scenario.</summary>
internal sealed record PresenceRow
{
    public int MembersBefore { get; init; }

    public int Joins { get; init; }

    public double CpuPerJoinUs { get; init; }

    public double CpuPerDeliveredDiffUs { get; init; }

    public double StateBytes { get; init; }

    public double JoinP50Ms { get; init; }

    public double TrackP50Ms { get; init; }

    public double DiffFirstP50Ms { get; init; }

    public double DiffLastP50Ms { get; init; }

    public double DiffLastMaxMs { get; init; }

    public int DiffBytesMin { get; init; }

    public int DiffBytesMax { get; init; }

    public double OtherCores { get; init; }
}
