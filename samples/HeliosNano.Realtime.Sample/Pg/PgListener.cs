using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Accepts PostgreSQL protocol clients (psql) on 127.0.0.1 and runs a <see cref="PgConnection"/> for each, over the
/// sample's one SQLite database, so their writes are captured and pushed like those of <c>POST /sql</c>.
/// </summary>
/// <remarks>
/// <para>
/// A plain <see cref="Socket"/> with <see cref="System.IO.Pipelines.PipeReader.Create(Stream, System.IO.Pipelines.StreamPipeReaderOptions)"/>
/// over a <see cref="NetworkStream"/>, rather than a Kestrel <c>ConnectionHandler</c>: adding a Kestrel endpoint with
/// <c>Listen</c> makes Kestrel ignore <c>--urls</c> (it binds only the endpoints configured in code), which would
/// change how the sample's HTTP side is configured; and a stream-based pipe gives the same copy-free framing. The
/// listener keeps to loopback (there is no TLS), at most <see cref="MaxConnections"/> sessions.
/// </para>
/// </remarks>
internal sealed partial class PgListener : IHostedService, IDisposable
{
    /// <summary>
    /// The most sessions at once: 64. Each may buffer one message (<see cref="PgMessageReader.MaxMessageLength"/>) and
    /// one answer (<see cref="SampleOptions.MaxResponseBytes"/>), so this bounds the listener's memory. Beyond it a client
    /// gets PostgreSQL's "sorry, too many clients already" (53300).
    /// </summary>
    public const int MaxConnections = 64;

    private readonly SampleDatabase _database;
    private readonly SampleOptions _options;
    private readonly ILogger<PgListener> _logger;
    private readonly ScramSha256? _scram;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<int, (Socket Socket, Task Task)> _sessions = new();
    private Socket? _socket;
    private Task _accepting = Task.CompletedTask;
    private int _nextId;
    private int _count;

    /// <summary>Initializes a new instance of the <see cref="PgListener"/> class.</summary>
    /// <exception cref="SampleStartupException">The authentication settings are inconsistent.</exception>
    public PgListener(SampleDatabase database, IOptions<SampleOptions> options, ILogger<PgListener> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _database = database;
        _options = options.Value;
        _logger = logger;
        AuthMethod = ResolveAuth(_options);
        if (AuthMethod == "scram-sha-256")
        {
            _scram = new ScramSha256(_options.Password!, RandomNumberGenerator.GetBytes(16));
        }
    }

    /// <summary>Gets the port listened on (the one chosen when 0 was asked for); 0 when not listening.</summary>
    public int Port { get; private set; }

    /// <summary>Gets the authentication method: <c>scram-sha-256</c> or <c>trust</c>.</summary>
    public string AuthMethod { get; }

    /// <summary>Checks <c>--auth</c> / <c>--password</c> and gets the method they ask for.</summary>
    /// <exception cref="SampleStartupException">An unknown method, or <c>scram-sha-256</c> without a password.</exception>
    public static string ResolveAuth(SampleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool hasPassword = !string.IsNullOrEmpty(options.Password);
        string auth = string.IsNullOrEmpty(options.Auth) ? (hasPassword ? "scram-sha-256" : "trust") : options.Auth.ToLowerInvariant();
        return auth switch
        {
            "scram-sha-256" when hasPassword => auth,
            "scram-sha-256" => throw new SampleStartupException("--auth scram-sha-256 needs a password: add --password <password>."),
            "trust" => auth,
            _ => throw new SampleStartupException($"Unknown --auth '{options.Auth}': use scram-sha-256 (with --password) or trust."),
        };
    }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        int port = _options.PgPort ?? SampleOptions.DefaultPgPort;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(512);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            if (_options.PgPort is null)
            {
                // The default port may well hold a real PostgreSQL: the HTTP side still serves, and the log says why psql cannot.
                Log.DefaultPortTaken(_logger, port, ex.Message);
                return Task.CompletedTask;
            }

            throw new SampleStartupException($"Cannot listen for PostgreSQL clients on 127.0.0.1:{port}: {ex.Message}. Pick another port with --pg-port <port> (0 for a free one), or turn the listener off with --no-pg.");
        }

        _socket = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        Log.Listening(_logger, Port, AuthMethod);
        _accepting = AcceptAsync(socket, _stopping.Token);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _socket?.Dispose();
        foreach ((Socket socket, Task _) in _sessions.Values)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_sessions.Values.Select(s => s.Task).Append(_accepting)).WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping.Dispose();
        _socket?.Dispose();
    }

    private async Task AcceptAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            client.NoDelay = true;
            int id = Interlocked.Increment(ref _nextId);
            bool admitted = Interlocked.Increment(ref _count) <= MaxConnections;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task task = RunSessionAsync(client, id, admitted, started.Task, cancellationToken);
            _sessions[id] = (client, task);
            started.SetResult();
        }
    }

    private async Task RunSessionAsync(Socket client, int id, bool admitted, Task registered, CancellationToken cancellationToken)
    {
        await registered;
        try
        {
            using var stream = new NetworkStream(client, ownsSocket: true);
            if (!admitted)
            {
                var refused = System.IO.Pipelines.PipeWriter.Create(stream, new System.IO.Pipelines.StreamPipeWriterOptions(leaveOpen: true));
                PgMessageWriter.ErrorResponse(refused, "FATAL", "53300", "sorry, too many clients already");
                await refused.FlushAsync(cancellationToken);
                await refused.CompleteAsync();
                return;
            }

            await new PgConnection(_database, _scram, _logger, id, _options.IdleInTransactionSessionTimeout).RunAsync(stream, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client or the server went away.
        }
#pragma warning disable CA1031 // One session's unexpected failure must not take the listener down: log it, close that session.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.SessionFailed(_logger, id, ex);
        }
        finally
        {
            client.Dispose();
            Interlocked.Decrement(ref _count);
            _sessions.TryRemove(id, out _);
        }
    }
}
