using BenchmarkDotNet.Running;
using HeliosNano.Realtime.Benchmarks;

if (args is ["--cpu-drain"])
{
    // The publish-and-drain scenario in CPU time: see CpuTimeDrain.
    CpuTimeDrain.Run(Console.Out);
    return;
}

// Runs the benchmarks the command line selects, e.g. `-- --filter '*'` or `-- --filter '*NotifyUnwatched*'`.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
