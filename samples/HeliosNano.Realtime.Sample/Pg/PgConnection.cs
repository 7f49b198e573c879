using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// One PostgreSQL v3 protocol session: start-up (<c>SSLRequest</c> answered <c>N</c>), authentication
/// (<c>scram-sha-256</c> or <c>trust</c>), parameter statuses, <c>BackendKeyData</c>, then simple Query messages until
/// <c>Terminate</c>. Messages are framed by <see cref="PgMessageReader"/> straight from the <see cref="PipeReader"/>'s
/// buffer; answers go into the <see cref="PipeWriter"/> and are flushed once per message, after the database is released.
/// </summary>
/// <remarks>
/// <para>
/// Simple Query messages go to <see cref="PgQueryRunner"/>, the extended query protocol (Parse/Bind/Describe/Execute/
/// Close/Flush/Sync) to <see cref="PgExtendedQuery"/>; both share the session's transaction state.
/// A <c>CancelRequest</c> is accepted and ignored (the sample's statements run to their end, or to the statement timeout).
/// </para>
/// <para>
/// While the session holds the database between messages (inside <c>BEGIN</c>, or in an extended batch before its
/// <c>Sync</c>), every other client waits; so waiting for the client's next message, or for it to read the answer, is
/// bounded by <see cref="SampleOptions.IdleInTransactionSessionTimeout"/>: past it the session is ended with
/// <c>FATAL 25P03</c> and its transaction rolled back, as PostgreSQL's <c>idle_in_transaction_session_timeout</c> does.
/// </para>
/// </remarks>
internal sealed partial class PgConnection
{
    /// <summary>How long a client may take from connecting to being authenticated: 60 s, PostgreSQL's <c>authentication_timeout</c>.</summary>
    public static readonly TimeSpan AuthenticationTimeout = TimeSpan.FromSeconds(60);

    private const string IdleTimeoutMessage = "terminating connection due to idle-in-transaction timeout";

    private readonly SampleDatabase _database;
    private readonly ScramSha256? _scram;
    private readonly ILogger _logger;
    private readonly int _processId;
    private readonly PgQueryRunner _runner;
    private readonly PgExtendedQuery _extended;
    private readonly TimeSpan _idleTimeout;
    private PipeReader _reader = null!;
    private PipeWriter _writer = null!;
    private PgFrontendMessage _message;
    private SequencePosition _consumed;
    private SqliteConnection? _held;

    /// <summary>Initializes a new instance of the <see cref="PgConnection"/> class.</summary>
    /// <param name="database">The sample database.</param>
    /// <param name="scram">The password check; <see langword="null"/> for <c>trust</c>.</param>
    /// <param name="logger">The listener's logger.</param>
    /// <param name="processId">The "backend process id" reported in <c>BackendKeyData</c>.</param>
    /// <param name="idleInTransactionTimeout">How long the session may hold the database waiting on its client; zero or less: no limit.</param>
    public PgConnection(SampleDatabase database, ScramSha256? scram, ILogger logger, int processId, TimeSpan idleInTransactionTimeout = default)
    {
        _database = database;
        _runner = new PgQueryRunner(database.MaxResponseBytes);
        _extended = new PgExtendedQuery(_runner);
        _idleTimeout = idleInTransactionTimeout;
        _scram = scram;
        _logger = logger;
        _processId = processId;
    }

    /// <summary>Runs the session on <paramref name="stream"/> until the client leaves, breaks the protocol, or the server stops.</summary>
    public async Task RunAsync(Stream stream, CancellationToken cancellationToken)
    {
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 8192, leaveOpen: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        try
        {
            string? user;
            using (var startup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                startup.CancelAfter(AuthenticationTimeout);
                user = await StartUpAsync(startup.Token);
                if (user is null || !await AuthenticateAsync(user, startup.Token))
                {
                    return;
                }
            }

            SendGreeting(user);
            await _writer.FlushAsync(cancellationToken);
            await ServeAsync(cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.IdleInTransactionTimeout(_logger, _processId, _idleTimeout);
            await TryFatalAsync("25P03", IdleTimeoutMessage);
        }
        catch (PgProtocolException ex)
        {
            Log.ProtocolViolation(_logger, _processId, ex.Message);
            await TryFatalAsync("08P01", ex.Message);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client went away, the authentication timeout passed, or the server is stopping: just close.
        }
        finally
        {
            if (_held is not null)
            {
                _extended.ClosePortals();
                _runner.Abandon(_held);
                _held = null;
                _database.Exit();
            }

            await _reader.CompleteAsync();
            await _writer.CompleteAsync();
        }
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        while (await NextAsync(startup: false, cancellationToken))
        {
            byte type = _message.Type;
            if (type == (byte)'X')
            {
                return;
            }

            if (type == (byte)'S')
            {
                _reader.AdvanceTo(_consumed);
                await SyncAsync(cancellationToken);
                continue;
            }

            if (_extended.SkippingToSync && type is (byte)'Q' or (byte)'P' or (byte)'B' or (byte)'D' or (byte)'E' or (byte)'C' or (byte)'H' or (byte)'F')
            {
                // After an error in an extended batch, everything up to Sync is discarded, as PostgreSQL does.
                _reader.AdvanceTo(_consumed);
                continue;
            }

            switch (type)
            {
                case (byte)'Q':
                    ReadOnlySequence<byte> body = _message.Body;
                    string sql = Encoding.UTF8.GetString(body.Length > 0 ? body.Slice(0, body.Length - 1) : body);
                    _reader.AdvanceTo(_consumed);
                    await QueryAsync(sql, cancellationToken);
                    break;
                case (byte)'P' or (byte)'B' or (byte)'D' or (byte)'E' or (byte)'C':
                    await ExtendedAsync(type, cancellationToken);
                    break;
                case (byte)'H':
                    _reader.AdvanceTo(_consumed);
                    await FlushAsync(cancellationToken);
                    break;
                case (byte)'F':
                    _reader.AdvanceTo(_consumed);
                    PgMessageWriter.ErrorResponse(_writer, "ERROR", "0A000", "the function call protocol is not supported");
                    PgMessageWriter.ReadyForQuery(_writer, _runner.Status);
                    await FlushAsync(cancellationToken);
                    break;
                default:
                    throw new PgProtocolException($"invalid frontend message type {type}");
            }
        }
    }

    private void Release()
    {
        // An interrupt (statement timeout) can also stop the ROLLBACK that ended the failed work: the next request must
        // find no transaction open.
        if (SQLitePCL.raw.sqlite3_get_autocommit(_held!.Handle) == 0)
        {
            Sql.SqlBatch.RollBack(_held);
        }

        _held = null;
        _database.Exit();
    }

    /// <summary>Flushes the answer; while the database is held, within the idle-in-transaction timeout.</summary>
    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_held is null || _idleTimeout <= TimeSpan.Zero)
        {
            await _writer.FlushAsync(cancellationToken);
            return;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_idleTimeout);
        try
        {
            await _writer.FlushAsync(idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(IdleTimeoutMessage);
        }
    }

    private async Task QueryAsync(string sql, CancellationToken cancellationToken)
    {
        _held ??= await _database.EnterAsync(cancellationToken);
        _extended.DropUnnamed();
        try
        {
            if (sql.Contains('\0', StringComparison.Ordinal))
            {
                // As POST /sql refuses it: SQLite's statement loop cannot step past an embedded NUL.
                PgMessageWriter.ErrorResponse(_writer, "ERROR", "22021", "the query contains a NUL character, which SQLite cannot run; nothing was executed");
            }
            else if (!PgSessionReset.TryAnswer(sql, _extended, _writer))
            {
                _database.RunEntered(
                    connection =>
                    {
                        _runner.Run(connection, sql, _writer);
                        _database.RegisterTables(connection);
                        return true;
                    },
                    cancellationToken);
            }
        }
        finally
        {
            if (!_runner.InTransaction)
            {
                _extended.ClosePortals();
                Release();
            }
        }

        PgMessageWriter.ReadyForQuery(_writer, _runner.Status);
        await FlushAsync(cancellationToken);
    }

    private async ValueTask<bool> NextAsync(bool startup, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await ReadAsync(cancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            bool framed = startup
                ? PgMessageReader.TryReadStartup(buffer, out _message, out _consumed)
                : PgMessageReader.TryRead(buffer, out _message, out _consumed);
            if (framed)
            {
                return true;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                // The client closed (perhaps in the middle of a message: a truncated message is simply dropped).
                _reader.AdvanceTo(buffer.End);
                return false;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads from the client; while the database is held, within the idle-in-transaction timeout.</summary>
    private async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken)
    {
        if (_held is null || _idleTimeout <= TimeSpan.Zero)
        {
            return await _reader.ReadAsync(cancellationToken);
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_idleTimeout);
        try
        {
            return await _reader.ReadAsync(idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(IdleTimeoutMessage);
        }
    }

    private async Task TryFatalAsync(string sqlState, string message)
    {
        try
        {
            PgMessageWriter.ErrorResponse(_writer, "FATAL", sqlState, message);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _writer.FlushAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is gone or does not read: closing is all that is left.
        }
    }
}
