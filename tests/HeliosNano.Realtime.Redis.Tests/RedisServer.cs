using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>
/// A real <c>redis-server</c> of the test's own: a free loopback port, its own data directory (AOF on, no RDB
/// snapshots), stopped by PID; never the machine's 6379.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        string directory = Path.Combine(Path.GetTempPath(), "heliosnano-redis-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var server = new RedisServer(FreePort(), directory);
        await server.RestartAsync(keepData: true, cancellationToken);
        return server;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the server again on the same port, with or without the data it had.</summary>
    public async Task RestartAsync(bool keepData, CancellationToken cancellationToken)
    {
        if (!keepData)
        {
            foreach (string entry in System.IO.Directory.EnumerateFileSystemEntries(Directory))
            {
                if (System.IO.Directory.Exists(entry))
                {
                    System.IO.Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }

        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", Directory])
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (apt-get install -y redis-server)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await using ConnectionMultiplexer connection = await ConnectAdminAsync();
                if (connection.IsConnected)
                {
                    await connection.GetDatabase().PingAsync();
                    return;
                }
            }
            catch (RedisConnectionException)
            {
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary><c>kill -9</c>: no shutdown, no final fsync.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    public async Task<ConnectionMultiplexer> ConnectAdminAsync()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        options.AllowAdmin = true;
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 1000;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>Runs one server command (CLIENT PAUSE, CLIENT KILL, …).</summary>
    public async Task<RedisResult> ExecuteAsync(string command, params object[] args)
    {
        await using ConnectionMultiplexer connection = await ConnectAdminAsync();
        return await connection.GetServer(Configuration).ExecuteAsync(command, args);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
