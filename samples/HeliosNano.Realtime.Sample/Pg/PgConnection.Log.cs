namespace HeliosNano.Realtime.Sample.Pg;

internal sealed partial class PgConnection
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PostgreSQL session {ProcessId}: protocol violation, closing: {Reason}", EventName = "PgProtocolViolation")]
        public static partial void ProtocolViolation(ILogger logger, int processId, string reason);

        [LoggerMessage(2, LogLevel.Information, "PostgreSQL session {ProcessId}: password authentication failed for user \"{User}\".", EventName = "PgAuthenticationFailed")]
        public static partial void AuthenticationFailed(ILogger logger, int processId, string user);

        [LoggerMessage(3, LogLevel.Warning, "PostgreSQL session {ProcessId}: held the database idle for {Timeout} (inside a transaction or an unsynced batch); rolled back and closed.", EventName = "PgIdleInTransactionTimeout")]
        public static partial void IdleInTransactionTimeout(ILogger logger, int processId, TimeSpan timeout);
    }
}
