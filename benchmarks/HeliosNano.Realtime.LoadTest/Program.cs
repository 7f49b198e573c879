using HeliosNano.Realtime.LoadTest;

// Usage and subcommands: see README.md (or run with `help`).
CommandLine args0;
try
{
    args0 = CommandLine.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
    ServerProcess.KillAll();
};
LoadOutput.Verbose = args0.GetFlag("verbose");
try
{
    return args0.Verb switch
    {
        "serve" => await LoadServer.RunAsync(args0),
        "run" => await RunCommand.RunAsync(args0, cancel.Token),
        "bench" => await BenchCommand.RunAsync(args0, cancel.Token),
        "broadcast" => await BroadcastCommand.RunAsync(args0, cancel.Token),
        "presence" => await PresenceCommand.RunAsync(args0, cancel.Token),
        "rowpolicy" => await RowPolicyCommand.RunAsync(args0, cancel.Token),
        "scaleout" => await ScaleOutCommand.RunAsync(args0, cancel.Token),
        "soak" => await Scenarios.SoakAsync(args0, cancel.Token),
        "churn" => await Scenarios.ChurnAsync(args0, cancel.Token),
        "stuck-client" => await Scenarios.StuckClientAsync(args0, cancel.Token),
        "shutdown" => await Scenarios.ShutdownAsync(args0, cancel.Token),
        "micro" => await MicroCommand.RunAsync(args0),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Console.Error.WriteLine($"failed: {e}");
    return 1;
}
finally
{
    // Whatever happened, no server under test outlives the tool.
    ServerProcess.KillAll();
}

static int Usage()
{
    Console.WriteLine("""
        HeliosNano.Realtime.LoadTest <command> [--option value]

          bench         all targets x connection counts: flat-out throughput + fixed-rate latency; table + SVG chart
                        --targets helios,signalr,raw[,ring] --connections 1,100,1000[,5000] --rate 5 --latency-seconds 20
                        --deliveries 400000 --seconds 10 --out benchmarks/results
          run           one target, one pass   --target helios|signalr|raw --connections 100 --rate 0 --count 10000 --seconds 10
          rowpolicy     --connections 1000 --tenants 100 --rounds 3 --groups 1,10,1000  (row policies: none/open/tenant/filter, one server each)
          soak          --connections 10000 --rate 5 --seconds 60            (helios; nothing lost unless reported as lag)
          churn         --connections 1000 --rounds 5 --rate 20              (subscribers back to 0, memory back to baseline)
          stuck-client  --connections 20 --rate 2000 --count 20000           (others lose nothing, notify time unchanged)
          shutdown      --connections 1000 --rate 200                        (stop under load: every client gets 1001)
          scaleout      --nodes 3 --connections 1000 --rate 200 --latency-seconds 20 --rounds 2 --out benchmarks/results
                        (issue 9: N nodes + their own redis-server vs one node with and without Redis)
          micro         --iterations 200000                                  (per-frame / per-wake costs behind the README's profile notes)
          serve         --target helios|signalr|raw --port N                 (the server under test; started by the others)

        Common: --note-bytes 64 (row padding), --concurrency 64 (parallel handshakes), --verbose (server output).
        Servers listen on 127.0.0.1 only.
        """);
    return 0;
}
