using BenchmarkDotNet.Running;

// Runs the benchmarks the command line selects, e.g. `-- --filter '*'` or `-- --filter '*NotifyUnwatched*'`.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
