using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// One server process of one target plus its clients: the unit every command is built from. Measures memory at
/// the baseline (before any client), idle (all subscribed) and under load, and runs publish passes.
/// </summary>
internal sealed class LoadSession : IAsyncDisposable
{
    private LoadSession(ServerProcess server, string label)
    {
        Server = server;
        Label = label;
        Fleet = new ClientFleet(server);
    }

    public ServerProcess Server { get; }

    public ClientFleet Fleet { get; }

    public string Label { get; }

    public MemoryPoint Baseline { get; private set; }

    public MemoryPoint Idle { get; private set; }

    public static async Task<LoadSession> StartAsync(string target, int noteBytes, CancellationToken cancellationToken, string scenario = "changes", IReadOnlyList<string>? serverArgs = null, string? label = null)
    {
        ServerProcess server = await ServerProcess.StartAsync(target, noteBytes, cancellationToken, scenario, serverArgs);
        var session = new LoadSession(server, label ?? target);
        session.Baseline = await session.MeasureMemoryAsync(cancellationToken);
        return session;
    }

    /// <summary>Opens clients and waits until the server counts every one of them as subscribed, then measures idle memory.</summary>
    public async Task ConnectAsync(int connections, int concurrency, CancellationToken cancellationToken, Func<int, ClientPlan>? plan = null)
    {
        await Fleet.AddAsync(connections, concurrency, stuck: false, $"{Label} N={connections}", cancellationToken, plan);
        await WaitForSubscribersAsync(Fleet.Count, cancellationToken);
        Idle = await MeasureMemoryAsync(cancellationToken);
    }

    public async Task WaitForSubscribersAsync(int expected, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            ServerStats stats = await Server.GetStatsAsync(false, cancellationToken);
            if (stats.Subscribers == expected)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"The server counts {stats.Subscribers} subscribers, expected {expected}.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>RSS and managed heap after a forced full collection in the server.</summary>
    public async Task<MemoryPoint> MeasureMemoryAsync(CancellationToken cancellationToken)
    {
        ServerStats stats = await Server.GetStatsAsync(forceGc: true, cancellationToken);
        return new MemoryPoint(Server.RssBytes(), stats.ManagedBytes);
    }

    /// <summary>
    /// Publishes <paramref name="count"/> rows at <paramref name="rate"/>/s (0 = flat out) and accounts for every
    /// delivery: each client should get every change, or, with <paramref name="expectedDeliveries"/>, the total it
    /// returns for the number of changes published (clients that see only some rows).
    /// </summary>
    public async Task<PassResult> RunPassAsync(string mode, double rate, long count, double seconds, CancellationToken cancellationToken, Func<long, long>? expectedDeliveries = null)
    {
        FleetTotals before = Fleet.Totals();
        Fleet.Latency.Reset();
        TimeSpan serverCpu0 = Server.CpuTime();
        TimeSpan clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        ServerStats initial = await Server.GetStatsAsync(false, cancellationToken);
        (double machineBusy0, double machineTotal0) = MachineCpu();
        long start = Stopwatch.GetTimestamp();
        await Server.StartPublishingAsync(rate, count, seconds, cancellationToken);
        long peakRss = 0, peakManaged = 0;
        ServerStats stats;
        do
        {
            await Task.Delay(500, cancellationToken);
            stats = await Server.GetStatsAsync(false, cancellationToken);
            peakRss = Math.Max(peakRss, Server.RssBytes());
            peakManaged = Math.Max(peakManaged, stats.ManagedBytes);
            FleetTotals now = Fleet.Totals() - before;
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            LoadOutput.Line($"{Label} N={Fleet.Count} {mode}: published {stats.Published:N0}, received {now.Received:N0} ({now.Received / elapsed:N0}/s), lagged {now.Lagged:N0}, server RSS {LoadOutput.Mb(peakRss)}");
        }
        while (stats.Publishing);

        long expected = expectedDeliveries?.Invoke(stats.Published) ?? stats.Published * Fleet.Count;
        FleetTotals totals = await Fleet.DrainAsync(before, expected, TimeSpan.FromSeconds(5), $"{Label} N={Fleet.Count} {mode}", cancellationToken);
        TimeSpan serverCpu = Server.CpuTime() - serverCpu0;
        TimeSpan clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu0;
        ServerStats final = await Server.GetStatsAsync(false, cancellationToken);
        (double machineBusy1, double machineTotal1) = MachineCpu();
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double duration = totals.LastReceiveTicks > start ? (totals.LastReceiveTicks - start) / (double)Stopwatch.Frequency : 0;
        return new PassResult
        {
            Mode = mode,
            Connections = Fleet.Count,
            Published = stats.Published,
            Expected = expected,
            Received = totals.Received,
            Lagged = totals.Lagged,
            Gaps = totals.Gaps,
            OutOfOrder = totals.OutOfOrder,
            Foreign = totals.Foreign,
            PolicyEvaluations = final.PolicyEvaluations - initial.PolicyEvaluations,
            Seconds = duration,
            AverageFrameBytes = totals.Received == 0 ? 0 : totals.Bytes / (double)totals.Received,
            Latency = Fleet.Latency.Summarize(),
            ServerCpu = serverCpu,
            ClientCpu = clientCpu,
            NotifyP50Ns = final.NotifyP50Ns,
            NotifyP99Ns = final.NotifyP99Ns,
            NotifyMaxNs = final.NotifyMaxNs,
            ServerLagged = final.LaggedChanges,
            PeakRss = peakRss,
            PeakManaged = peakManaged,
            AllocatedPerMessage = totals.Received == 0 ? 0 : (final.AllocatedBytes - initial.AllocatedBytes) / (double)totals.Received,
            ServerGen0 = final.Gen0Collections - initial.Gen0Collections,
            ServerGen2 = final.Gen2Collections - initial.Gen2Collections,
            OtherCores = Math.Max(0, ((machineBusy1 - machineBusy0) / ClockTicks) - serverCpu.TotalSeconds - clientCpu.TotalSeconds) / wall,
            MachineCores = (machineTotal1 - machineTotal0) / ClockTicks / wall,
        };
    }

    private const double ClockTicks = 100; // USER_HZ, the unit of /proc/stat

    /// <summary>Busy and total CPU ticks of the whole machine (first line of /proc/stat), to show how much others used.</summary>
    internal static (double Busy, double Total) MachineCpu()
    {
        string[] f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double total = 0;
        for (int i = 1; i < Math.Min(f.Length, 9); i++)
        {
            total += double.Parse(f[i], System.Globalization.CultureInfo.InvariantCulture);
        }

        double idle = double.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture) + double.Parse(f[5], System.Globalization.CultureInfo.InvariantCulture);
        return (total - idle, total);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Fleet.AbortAll();
        }
        finally
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>Server memory at one moment.</summary>
internal readonly record struct MemoryPoint(long Rss, long Managed);

/// <summary>What one publish pass measured.</summary>
internal sealed record PassResult
{
    public string Mode { get; init; } = "";

    public int Connections { get; init; }

    public long Published { get; init; }

    public long Expected { get; init; }

    public long Received { get; init; }

    public long Lagged { get; init; }

    /// <summary>Expected deliveries neither received nor reported as lag (must be 0).</summary>
    public long Unaccounted => Expected - Received - Lagged;

    public long Gaps { get; init; }

    public long OutOfOrder { get; init; }

    /// <summary>Frames a client should never have seen (another tenant's rows; see <see cref="LoadConnection.ExpectEvery"/>).</summary>
    public long Foreign { get; init; }

    /// <summary>Row policy evaluations the server counted during the pass (heliosnano.realtime.ws.row_policy.evaluations).</summary>
    public long PolicyEvaluations { get; init; }

    public double Seconds { get; init; }

    public double DeliveredPerSecond => Seconds > 0 ? Received / Seconds : 0;

    public double AverageFrameBytes { get; init; }

    public LatencySummary Latency { get; init; }

    public TimeSpan ServerCpu { get; init; }

    public TimeSpan ClientCpu { get; init; }

    /// <summary>Server CPU per delivered message, in microseconds.</summary>
    public double ServerCpuPerMessageUs => Received == 0 ? 0 : ServerCpu.TotalMilliseconds * 1000 / Received;

    public long NotifyP50Ns { get; init; }

    public long NotifyP99Ns { get; init; }

    public long NotifyMaxNs { get; init; }

    public long ServerLagged { get; init; }

    public long PeakRss { get; init; }

    public long PeakManaged { get; init; }

    /// <summary>Server bytes allocated per delivered message.</summary>
    public double AllocatedPerMessage { get; init; }

    public int ServerGen0 { get; init; }

    public int ServerGen2 { get; init; }

    /// <summary>Cores used by every other process on the machine during the pass (noise from concurrent work).</summary>
    public double OtherCores { get; init; }

    public double MachineCores { get; init; }

    public string Describe() =>
        $"{Mode}: published {Published:N0} to {Connections:N0} conns, {Expected:N0} deliveries expected; received {Received:N0}, lagged (reported) {Lagged:N0}, "
        + $"unaccounted {Unaccounted:N0}, unreported gaps {Gaps:N0}, out of order {OutOfOrder:N0}{(Foreign > 0 ? $", NOT THEIRS {Foreign:N0}" : "")}\n"
        + $"    delivered {DeliveredPerSecond:N0} msg/s over {Seconds:0.00} s, frame {AverageFrameBytes:N0} B, latency {Latency}\n"
        + $"    server CPU {ServerCpu.TotalSeconds:0.00} s ({ServerCpuPerMessageUs:0.00} µs/msg), client CPU {ClientCpu.TotalSeconds:0.00} s, "
        + $"publish call p50 {NotifyP50Ns / 1000.0:0.0} µs / p99 {NotifyP99Ns / 1000.0:0.0} µs / max {NotifyMaxNs / 1000.0:0.0} µs, server-side lagged {ServerLagged:N0}\n"
        + $"    server allocated {AllocatedPerMessage:N0} B/msg (gen0 {ServerGen0}, gen2 {ServerGen2}); other processes used {OtherCores:0.00} of {MachineCores:0.0} cores meanwhile";
}
