using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>One real sample server process (<c>dotnet HeliosNano.Realtime.Sample.dll --db … --redis …</c>) on a free loopback port.</summary>
internal sealed class SampleNode : IAsyncDisposable
{
    private readonly string[] _args;
    private Process? _process;

    private SampleNode(string name, int port, string[] args)
    {
        Name = name;
        Port = port;
        _args = args;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }

    public int Port { get; }

    public HttpClient Http { get; }

    public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/realtime/v1/websocket?vsn=1.0.0");

    public StringBuilder Output { get; } = new();

    public static Task<SampleNode> StartAsync(string name, string database, string redis, CancellationToken cancellationToken) =>
        StartAsync(name, database, redis, [], cancellationToken);

    /// <summary>Starts a node with <paramref name="extraArgs"/> after the usual ones (e.g. <c>--jwt-secret</c>).</summary>
    public static async Task<SampleNode> StartAsync(string name, string database, string redis, string[] extraArgs, CancellationToken cancellationToken)
    {
        int port = RedisServer.FreePort();
        var node = new SampleNode(name, port, ["--db", database, "--redis", redis, "--urls", $"http://127.0.0.1:{port}", "--no-pg", "--Logging:LogLevel:Default", "Warning", .. extraArgs]);
        await node.StartAsync(cancellationToken);
        return node;
    }

    /// <summary>Starts (or restarts) the process and waits until its backplane has read the log.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = SampleDirectory };
        start.ArgumentList.Add(Path.Combine(SampleDirectory, "HeliosNano.Realtime.Sample.dll"));
        foreach (string arg in _args)
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (Output) { Output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (Output) { Output.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited: {Output}");
            }

            try
            {
                JsonElement health = await HealthAsync(cancellationToken);
                if (health.GetProperty("connected").GetBoolean())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The <c>heliosnano-redis</c> health check's data.</summary>
    public async Task<JsonElement> HealthAsync(CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await Http.GetAsync("/health", cancellationToken);
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return body.GetProperty("checks").GetProperty("heliosnano-redis").GetProperty("data");
    }

    public async Task<JsonElement> SqlAsync(string sql, CancellationToken cancellationToken)
    {
        using var content = new StringContent(sql, Encoding.UTF8, "text/plain");
        using HttpResponseMessage response = await Http.PostAsync("/sql", content, cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{Name}: /sql {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Inserts <paramref name="count"/> rows in one statement, tagged <paramref name="customer"/>.</summary>
    public Task<JsonElement> InsertAsync(int count, string customer, CancellationToken cancellationToken) => SqlAsync(
        $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) INSERT INTO orders (customer) SELECT '{customer}' FROM n",
        cancellationToken);

    /// <summary><c>kill -9</c>: the node dies without leaving.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    /// <summary>
    /// Creates the SQLite file the nodes share, next to <paramref name="redis"/>'s data directory (so the fixture's
    /// cleanup finds it): WAL mode, one <c>orders (id, customer)</c> table. Returns its path.
    /// </summary>
    public static string CreateOrdersDatabase(RedisServer redis)
    {
        string database = Path.Combine(redis.Directory, "..", Path.GetFileName(redis.Directory) + ".db");
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database}");
        connection.Open();
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)";
        command.ExecuteNonQuery();
        return database;
    }

    /// <summary>Stops <paramref name="nodes"/> by their PIDs and deletes the shared SQLite file they ran on (with its WAL and SHM files).</summary>
    public static async Task StopAllAsync(IEnumerable<SampleNode>? nodes, string? database)
    {
        foreach (SampleNode node in nodes ?? [])
        {
            await node.DisposeAsync();
        }

        if (database is not null && Path.GetDirectoryName(database) is { } directory && Directory.Exists(directory))
        {
            foreach (string file in Directory.EnumerateFiles(directory, Path.GetFileName(database) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        Http.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The sample's build output next to this test assembly's (same configuration).</summary>
    private static string SampleDirectory
    {
        get
        {
            string here = AppContext.BaseDirectory;
            string configuration = here.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var root = new DirectoryInfo(here);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "HeliosNano.Realtime.sln")))
            {
                root = root.Parent;
            }

            return Path.Combine(root!.FullName, "samples", "HeliosNano.Realtime.Sample", "bin", configuration, "net10.0");
        }
    }
}
