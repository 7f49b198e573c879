namespace HeliosNano.Realtime.LoadTest;

internal static class BenchCommand
{
    public static Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken) => throw new NotImplementedException();
}
