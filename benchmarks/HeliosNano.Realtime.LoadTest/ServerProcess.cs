using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The server under test as a child process of this tool (<c>serve --target …</c>), its control endpoint, and its
/// CPU time and RSS read from <c>/proc/&lt;pid&gt;</c>. Disposing always kills it.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>Linux USER_HZ: /proc/&lt;pid&gt;/stat reports utime and stime in these ticks (100 on every mainstream kernel).</summary>
    private const double ClockTicksPerSecond = 100;

    private static readonly List<Process> s_live = [];
    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(string target, string scenario, int port, Process process)
    {
        Target = target;
        Scenario = scenario;
        Port = port;
        _process = process;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Target { get; }

    /// <summary>Gets the scenario the server was started for: changes (postgres_changes), broadcast or presence.</summary>
    public string Scenario { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The endpoint clients of this target connect to.</summary>
    public Uri ClientUri => Target switch
    {
        "helios" or "helios-push" => new Uri($"ws://127.0.0.1:{Port}/realtime/v1/websocket"),
        "signalr" => new Uri($"http://127.0.0.1:{Port}/hub"),
        _ => new Uri($"ws://127.0.0.1:{Port}/ws"),
    };

    /// <summary>Kills every child still running (Ctrl+C, unhandled failure).</summary>
    public static void KillAll()
    {
        lock (s_live)
        {
            foreach (Process p in s_live)
            {
                try
                {
                    p.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }
    }

    /// <summary>Starts <c>serve</c>; <paramref name="extraArguments"/> adds options, e.g. the scaleout scenario's <c>--redis host:port</c>.</summary>
    public static async Task<ServerProcess> StartAsync(string target, int noteBytes, CancellationToken cancellationToken, string scenario = "changes", IReadOnlyList<string>? extraArguments = null)
    {
        int port = FindFreePort();
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Run as `dotnet <dll> serve …` when this tool runs under the dotnet host, or as the apphost itself.
        if (string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.Ordinal))
        {
            psi.ArgumentList.Add(typeof(ServerProcess).Assembly.Location);
        }

        foreach (string a in new[] { "serve", "--target", target, "--port", port.ToString(CultureInfo.InvariantCulture), "--note-bytes", noteBytes.ToString(CultureInfo.InvariantCulture), "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--scenario", scenario })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string a in extraArguments ?? [])
        {
            psi.ArgumentList.Add(a);
        }

        Process process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start the server process.");
        lock (s_live)
        {
            s_live.Add(process);
        }

        var server = new ServerProcess(target, scenario, port, process);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server._ready.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>The last lines the server printed (warnings and errors only; it logs at Warning).</summary>
    public string[] RecentOutput()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    /// <summary>User plus system CPU time of the server process so far.</summary>
    public TimeSpan CpuTime()
    {
        string stat = File.ReadAllText($"/proc/{Pid}/stat");
        // Fields after the command name (which may contain spaces) start after the last ')'; utime and stime are fields 14 and 15.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
    }

    /// <summary>Resident set size of the server process (VmRSS), in bytes.</summary>
    public long RssBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async Task<ServerStats> GetStatsAsync(bool forceGc, CancellationToken cancellationToken) =>
        await _http.GetFromJsonAsync<ServerStats>(forceGc ? "load/stats?gc=1" : "load/stats", cancellationToken)
        ?? throw new InvalidOperationException("Empty stats.");

    public async Task StartPublishingAsync(double rate, long count, double seconds, CancellationToken cancellationToken)
    {
        string query = string.Create(CultureInfo.InvariantCulture, $"load/start?rate={rate}&count={count}&seconds={seconds}");
        using HttpResponseMessage response = await _http.PostAsync(query, null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task StopPublishingAsync(CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync("load/stop", null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Asks the host to stop gracefully (IHostApplicationLifetime.StopApplication, as SIGTERM would).</summary>
    public async Task RequestShutdownAsync(CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync("load/shutdown", null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already exited, or the kernel is slow to reap it: nothing more we can do.
        }

        lock (s_live)
        {
            s_live.Remove(_process);
        }

        _process.Dispose();
    }

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("ready ", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 50)
            {
                _output.RemoveAt(0);
            }
        }

        if (LoadOutput.Verbose)
        {
            Console.Error.WriteLine($"  [server {Target}] {line}");
        }
    }
}
