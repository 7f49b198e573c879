namespace HeliosNano.Realtime.Sample.Pg;

internal sealed partial class PgListener
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PostgreSQL protocol: psql \"postgresql://postgres@127.0.0.1:{Port}/postgres\" (auth {Auth}; no TLS, loopback only; simple query protocol).", EventName = "PgListening")]
        public static partial void Listening(ILogger logger, int port, string auth);

        [LoggerMessage(2, LogLevel.Warning, "PostgreSQL protocol: port {Port} is taken ({Reason}), so psql cannot reach this server; use --pg-port <port> (0 for a free one) or --no-pg.", EventName = "PgDefaultPortTaken")]
        public static partial void DefaultPortTaken(ILogger logger, int port, string reason);

        [LoggerMessage(3, LogLevel.Error, "PostgreSQL session {ProcessId} failed.", EventName = "PgSessionFailed")]
        public static partial void SessionFailed(ILogger logger, int processId, Exception exception);
    }
}
