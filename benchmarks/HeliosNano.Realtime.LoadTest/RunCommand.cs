namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>run</c>: one target, one connection count, one publish pass; prints memory (baseline, idle, under load) and
/// the pass's accounting. The building block of <c>bench</c>.
/// </summary>
internal static class RunCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        string target = args.GetString("target", "helios");
        int connections = args.GetInt("connections", 100);
        double rate = args.GetDouble("rate", 0);
        long count = args.GetInt("count", 10_000);
        double seconds = args.GetDouble("seconds", 10);
        int noteBytes = args.GetInt("note-bytes", 64);
        int concurrency = args.GetInt("concurrency", 64);
        int warmup = args.GetInt("warmup", 200);
        args.EnsureAllUsed();

        await using LoadSession session = await LoadSession.StartAsync(target, noteBytes, cancellationToken);
        await session.ConnectAsync(connections, concurrency, cancellationToken);
        if (warmup > 0)
        {
            await session.RunPassAsync("warm-up", 0, warmup, 30, cancellationToken);
        }

        PassResult pass = await session.RunPassAsync(rate > 0 ? $"rate {rate:0}/s" : "flat out", rate, count, seconds, cancellationToken);
        Console.WriteLine($"{target}, {connections} connections");
        Console.WriteLine(MemoryLine(session, pass));
        Console.WriteLine("  " + pass.Describe());
        return pass.Unaccounted == 0 && pass.Gaps == 0 ? 0 : 1;
    }

    public static string MemoryLine(LoadSession session, PassResult? pass)
    {
        int n = Math.Max(1, session.Fleet.Count);
        string text = $"  memory: baseline RSS {LoadOutput.Mb(session.Baseline.Rss)}, managed {LoadOutput.Mb(session.Baseline.Managed)}; "
            + $"idle +{LoadOutput.Kb((session.Idle.Rss - session.Baseline.Rss) / (double)n)} KB RSS and +{LoadOutput.Kb((session.Idle.Managed - session.Baseline.Managed) / (double)n)} KB managed per connection";
        if (pass is not null)
        {
            text += $"; under load +{LoadOutput.Kb((pass.PeakRss - session.Baseline.Rss) / (double)n)} KB RSS per connection (peak)";
        }

        return text;
    }
}
