using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.Sqlite;

public sealed partial class SqliteChangeCapture
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "SQLite change capture failed inside the {Hook} callback; the error was counted and not passed to SQLite.", EventName = "CallbackFailed")]
        public static partial void CallbackFailed(ILogger logger, string hook, Exception exception);

        [LoggerMessage(2, LogLevel.Debug, "SQLite change capture started on '{DataSource}' (native library '{Library}'), publishing under schema '{Schema}'.", EventName = "CaptureStarted")]
        public static partial void CaptureStarted(ILogger logger, string dataSource, string library, string schema);

        [LoggerMessage(3, LogLevel.Debug, "SQLite change capture stopped after {Published} changes in {Committed} committed transactions.", EventName = "CaptureStopped")]
        public static partial void CaptureStopped(ILogger logger, long published, long committed);

        [LoggerMessage(4, LogLevel.Debug, "Read the columns of table '{Table}': {Columns}.", EventName = "ColumnsRead")]
        public static partial void ColumnsRead(ILogger logger, string table, string columns);

        [LoggerMessage(5, LogLevel.Warning, "The {Hook} hook of this SQLite connection was already set by other code; the capture replaced it.", EventName = "HookReplaced")]
        public static partial void HookReplaced(ILogger logger, string hook);

        [LoggerMessage(6, LogLevel.Warning, "PRAGMA table_xinfo for table '{Table}' returned {Found} columns but the row has {Count}; missing names are generated.", EventName = "ColumnCountMismatch")]
        public static partial void ColumnCountMismatch(ILogger logger, string table, int found, int count);

        [LoggerMessage(7, LogLevel.Warning, "A transaction's buffered row images exceeded {MaxBufferedBytes} bytes; its changes are reported to readers as lost when it commits.", EventName = "TransactionTooLarge")]
        public static partial void TransactionTooLarge(ILogger logger, long maxBufferedBytes);

        [LoggerMessage(8, LogLevel.Warning, "A committed {Kind} on table '{Table}' could not be published whole and is reported to readers as lost.", EventName = "ChangeLost")]
        public static partial void ChangeLost(ILogger logger, string table, ChangeKind kind);
    }
}
