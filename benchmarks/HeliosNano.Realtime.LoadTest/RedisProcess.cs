using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// A <c>redis-server</c> of this run only: a free loopback port, its own temporary data directory, no persistence
/// (<c>--save "" --appendonly no</c>: a benchmark, not a durability test), stopped by its own PID and its directory
/// deleted on dispose. Never a system-wide instance. <see cref="CommandAsync"/> speaks just enough RESP for
/// <c>INFO commandstats</c>, on one connection of its own.
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private TcpClient? _client;
    private Stream? _stream;

    private RedisProcess(Process process, DirectoryInfo directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>The StackExchange.Redis configuration string of this server.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<RedisProcess> StartAsync(string executable, CancellationToken cancellationToken)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        DirectoryInfo directory = Directory.CreateTempSubdirectory("heliosnano-scaleout-redis-");
        var psi = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory.FullName, "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "" })
        {
            psi.ArgumentList.Add(a);
        }

        Process process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {executable}.");
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisProcess(process, directory, port);
        try
        {
            long start = Stopwatch.GetTimestamp();
            while (true)
            {
                try
                {
                    if (await redis.CommandAsync(cancellationToken, "PING") == "PONG")
                    {
                        return redis;
                    }
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    redis.DropConnection();
                }

                if (process.HasExited || Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(10))
                {
                    throw new InvalidOperationException($"redis-server did not answer on port {port}.");
                }

                await Task.Delay(50, cancellationToken);
            }
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one command and returns its reply as text (simple string, bulk string or integer); throws on an error reply.</summary>
    public async Task<string?> CommandAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        if (_stream is null)
        {
            _client = new TcpClient();
            await _client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            _stream = new BufferedStream(_client.GetStream());
        }

        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"*{arguments.Length}\r\n");
        foreach (string a in arguments)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        await _stream.FlushAsync(cancellationToken);
        string header = await ReadLineAsync(_stream, cancellationToken);
        switch (header[0])
        {
            case '+' or ':':
                return header[1..];
            case '-':
                throw new InvalidOperationException($"Redis: {header[1..]}");
            case '$':
                int length = int.Parse(header.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                byte[] body = new byte[length + 2];
                await _stream.ReadExactlyAsync(body, cancellationToken);
                return Encoding.UTF8.GetString(body, 0, length);
            default:
                throw new InvalidOperationException($"Unexpected Redis reply '{header}'.");
        }
    }

    /// <summary>The server's <c>INFO commandstats</c> now.</summary>
    public async Task<RedisCommandStats> GetCommandStatsAsync(CancellationToken cancellationToken) =>
        RedisCommandStats.Parse(await CommandAsync(cancellationToken, "INFO", "commandstats") ?? "");

    /// <summary>User plus system CPU time of redis-server so far (from /proc, 10 ms ticks).</summary>
    public TimeSpan CpuTime()
    {
        string stat = File.ReadAllText($"/proc/{Pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public async ValueTask DisposeAsync()
    {
        DropConnection();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already gone, or slow to reap.
        }

        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp folder; nothing in it is needed.
        }
    }

    private void DropConnection()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (true)
        {
            await stream.ReadExactlyAsync(one, cancellationToken);
            if (one[0] == (byte)'\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }

    private static void OnLine(string? line)
    {
        if (line is not null && LoadOutput.Verbose)
        {
            Console.Error.WriteLine($"  [redis] {line}");
        }
    }
}
