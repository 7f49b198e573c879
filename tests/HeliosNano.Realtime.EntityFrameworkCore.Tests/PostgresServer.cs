using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>
/// A real PostgreSQL 15 for the whole test run: <c>initdb</c> into a temporary directory, <c>postgres</c> on a free
/// loopback port as the unprivileged <c>postgres</c> user (we may be root), stopped by PID at the end of the run.
/// </summary>
[SetUpFixture]
public sealed class PostgresServer
{
    private const string BinDir = "/usr/lib/postgresql/15/bin";
    private static Process? s_process;
    private static string? s_dataDir;
    private static int s_databases;

    public static int Port { get; private set; }

    public static bool Available => s_process is { HasExited: false };

    public static string? UnavailableReason { get; private set; }

    public static string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Include Error Detail=true";

    /// <summary>Creates a fresh database for one fixture.</summary>
    public static string CreateDatabase()
    {
        string name = $"efcap_{Environment.ProcessId}_{Interlocked.Increment(ref s_databases)}";
        using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        command.ExecuteNonQuery();
        return ConnectionString(name);
    }

    [OneTimeSetUp]
    public void Start()
    {
        if (!File.Exists(Path.Combine(BinDir, "postgres")))
        {
            UnavailableReason = $"{BinDir}/postgres is missing (apt-get install -y postgresql)";
            return;
        }

        s_dataDir = Path.Combine(Path.GetTempPath(), $"efcap-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(s_dataDir);
        bool root = Environment.UserName == "root";
        if (root)
        {
            Run("chown", $"postgres {s_dataDir}");
        }

        RunAs(root, Path.Combine(BinDir, "initdb"), $"-D {s_dataDir} -U postgres -A trust -E UTF8 --no-sync --locale=C.UTF-8");
        Port = FreePort();
        var start = new ProcessStartInfo(root ? "runuser" : Path.Combine(BinDir, "postgres"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (root)
        {
            foreach (string a in (string[])["-u", "postgres", "--", Path.Combine(BinDir, "postgres")])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (string a in (string[])["-D", s_dataDir, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + s_dataDir, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "timezone=UTC", "-c", "max_connections=50", "-c", "max_prepared_transactions=10"])
        {
            start.ArgumentList.Add(a);
        }

        s_process = Process.Start(start)!;
        s_process.OutputDataReceived += (_, _) => { };
        s_process.ErrorDataReceived += (_, _) => { };
        s_process.BeginOutputReadLine();
        s_process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Timeout=2;Pooling=false");
                connection.Open();
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < TimeSpan.FromSeconds(30) && !s_process.HasExited)
            {
                Thread.Sleep(100); // waiting for the server process to accept connections, not a timing assertion
            }
        }
    }

    [OneTimeTearDown]
    public void Stop()
    {
        NpgsqlConnection.ClearAllPools();
        // Stop the postmaster itself, by the PID it wrote (our child may be runuser, which need not forward the signal).
        int? postmaster = PostmasterPid();
        if (postmaster is int pid)
        {
            Run("kill", $"-INT {pid}"); // PostgreSQL's "fast shutdown"
            var waited = Stopwatch.StartNew();
            while (Directory.Exists($"/proc/{pid}") && waited.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50); // waiting for that process to exit, not a timing assertion
            }

            if (Directory.Exists($"/proc/{pid}"))
            {
                Run("kill", $"-KILL {pid}");
            }
        }

        if (s_process is { HasExited: false } process && !process.WaitForExit(10_000))
        {
            process.Kill();
        }

        s_process?.Dispose();
        if (s_dataDir is not null)
        {
            try
            {
                Directory.Delete(s_dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static int? PostmasterPid()
    {
        string file = Path.Combine(s_dataDir ?? "", "postmaster.pid");
        return File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault(), System.Globalization.CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void RunAs(bool root, string file, string arguments)
    {
        if (root)
        {
            Run("runuser", $"-u postgres -- {file} {arguments}");
        }
        else
        {
            Run(file, arguments);
        }
    }

    private static void Run(string file, string arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {error}");
        }
    }
}
