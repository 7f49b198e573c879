namespace HeliosNano.Realtime.LoadTest;

internal static class Scenarios
{
    public static Task<int> SoakAsync(CommandLine args, CancellationToken cancellationToken) => throw new NotImplementedException();

    public static Task<int> ChurnAsync(CommandLine args, CancellationToken cancellationToken) => throw new NotImplementedException();

    public static Task<int> StuckClientAsync(CommandLine args, CancellationToken cancellationToken) => throw new NotImplementedException();

    public static Task<int> ShutdownAsync(CommandLine args, CancellationToken cancellationToken) => throw new NotImplementedException();
}
