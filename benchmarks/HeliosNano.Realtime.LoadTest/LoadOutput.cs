using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>Progress lines on stderr (results go to stdout), with a timestamp relative to the tool's start.</summary>
internal static class LoadOutput
{
    private static readonly long s_start = Stopwatch.GetTimestamp();

    public static bool Verbose { get; set; }

    public static void Line(string text) => Console.Error.WriteLine($"[{Stopwatch.GetElapsedTime(s_start).TotalSeconds,7:0.0}s] {text}");

    /// <summary>Prints <paramref name="text"/> every <paramref name="period"/> until disposed.</summary>
    public static IDisposable Every(TimeSpan period, Func<string> text) =>
        new Timer(_ => Line(text()), null, period, period);

    public static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):0.0} MB";

    public static string Kb(double bytes) => $"{bytes / 1024.0:0.0}";
}
