using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>The auth part's log events (ids 40–69). No token, and no text a token could hide in, is ever logged.</summary>
internal static partial class RealtimeAuthLog
{
    [LoggerMessage(40, LogLevel.Information, "A realtime token was rejected: {Code}: {Reason} ({FailureType}).", EventName = "TokenRejected")]
    public static partial void TokenRejected(ILogger logger, string code, string reason, string failureType);

    [LoggerMessage(41, LogLevel.Warning, "The authentication scheme {Scheme} threw {ExceptionType} while validating a realtime token; it is refused.", EventName = "AuthenticationHandlerThrew")]
    public static partial void HandlerThrew(ILogger logger, string scheme, string exceptionType);

    [LoggerMessage(42, LogLevel.Information, "Refused a realtime WebSocket handshake: {Code}: {Reason}.", EventName = "UpgradeTokenRefused")]
    public static partial void UpgradeRefused(ILogger logger, string code, string reason);

    [LoggerMessage(43, LogLevel.Information, "The token of channel {Topic} on {ConnectionId} expired; the channel is closed.", EventName = "ChannelTokenExpired")]
    private static partial void TokenExpiredCore(ILogger logger, string connectionId, string topic);

    /// <summary>Logs <c>ChannelTokenExpired</c>; the topic is sanitized first.</summary>
    public static void TokenExpired(ILogger logger, string connectionId, string topic)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            TokenExpiredCore(logger, connectionId, LogText.Sanitize(topic));
        }
    }

    [LoggerMessage(44, LogLevel.Debug, "Channel {Topic} on {ConnectionId} got a new token.", EventName = "ChannelTokenRefreshed")]
    private static partial void TokenRefreshedCore(ILogger logger, string connectionId, string topic);

    /// <summary>Logs <c>ChannelTokenRefreshed</c>; the topic is sanitized first.</summary>
    public static void TokenRefreshed(ILogger logger, string connectionId, string topic)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            TokenRefreshedCore(logger, connectionId, LogText.Sanitize(topic));
        }
    }

    [LoggerMessage(45, LogLevel.Error, "The row policy of {Table} failed on change {Sequence}; the change is withheld from that policy group, which is told.", EventName = "RowPolicyFailed")]
    public static partial void RowPolicyFailed(ILogger logger, string table, long sequence, Exception exception);

    [LoggerMessage(46, LogLevel.Error, "The realtime authorization policy {Policy} failed for topic {Topic}; it counts as a refusal.", EventName = "ChannelPolicyFailed")]
    private static partial void ChannelPolicyFailedCore(ILogger logger, string topic, string policy, Exception exception);

    /// <summary>Logs <c>ChannelPolicyFailed</c>; the topic is sanitized first.</summary>
    public static void ChannelPolicyFailed(ILogger logger, string topic, string policy, Exception exception)
    {
        if (logger.IsEnabled(LogLevel.Error))
        {
            ChannelPolicyFailedCore(logger, LogText.Sanitize(topic), policy, exception);
        }
    }
}
