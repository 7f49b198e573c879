using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>The capture's source-generated log messages (event ids are stable and never reused).</summary>
internal static partial class CaptureLog
{
    [LoggerMessage(1, LogLevel.Information,
        "HeliosNano EF Core capture attached: INSERT, UPDATE and DELETE of SaveChanges are published after their commit. " +
        "Not captured: raw SQL (ExecuteSql, FromSql writes), database-side cascades and triggers, other processes; ExecuteUpdate/ExecuteDelete are {BulkMode}.",
        EventName = "CaptureStarted")]
    public static partial void CaptureStarted(ILogger logger, string bulkMode);

    [LoggerMessage(2, LogLevel.Warning,
        "The SQLite connection of {ContextType} is also captured by the pre-update hook (CaptureChanges): the EF Core capture leaves its saves to the hook, so each change is published once.",
        EventName = "SqliteHookDetected")]
    public static partial void SqliteHookDetected(ILogger logger, string contextType);

    [LoggerMessage(3, LogLevel.Warning,
        "A commit of {ContextType} failed with an unknown outcome: its {Count} captured changes are reported to watching readers as lost, not published.",
        EventName = "CommitOutcomeUnknown")]
    public static partial void CommitOutcomeUnknown(ILogger logger, string contextType, int count);

    [LoggerMessage(4, LogLevel.Error, "A committed change of {Table} could not be published; watching readers are told they missed it.", EventName = "PublishFailed")]
    public static partial void PublishFailed(ILogger logger, string table, Exception exception);

    [LoggerMessage(5, LogLevel.Warning,
        "{ContextType} ran {Source} on a watched model: its row changes are not captured. Logged once per context type.",
        EventName = "UncapturedWrite")]
    public static partial void UncapturedWrite(ILogger logger, string contextType, string source);
}
