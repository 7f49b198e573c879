using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    internal static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Realtime WebSocket client {ConnectionId} connected (vsn {Vsn}, apikey present: {HasApiKey}, token present: {HasToken}).", EventName = "Connected")]
        public static partial void Connected(ILogger logger, string connectionId, string vsn, bool hasApiKey, bool hasToken);

        [LoggerMessage(2, LogLevel.Debug, "Realtime WebSocket client {ConnectionId} disconnected.", EventName = "Disconnected")]
        public static partial void Disconnected(ILogger logger, string connectionId);

        [LoggerMessage(3, LogLevel.Warning, "WS client lagged by {Missed} events (connection {ConnectionId}; it resumes at sequence {ResumeSequence}, the oldest still held).", EventName = "ClientLagged")]
        public static partial void ClientLagged(ILogger logger, long missed, string connectionId, long resumeSequence);

        [LoggerMessage(4, LogLevel.Warning, "Dropped a malformed WebSocket message from {ConnectionId}: {Reason}", EventName = "MalformedWebSocketMessage")]
        private static partial void MalformedMessageCore(ILogger logger, string connectionId, string reason);

        /// <summary>Logs <c>MalformedMessage</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void MalformedMessage(ILogger logger, string connectionId, string reason)
        {
            if (logger.IsEnabled(LogLevel.Warning))
            {
                MalformedMessageCore(logger, connectionId, LogText.Sanitize(reason));
            }
        }

        [LoggerMessage(5, LogLevel.Warning, "Dropped a binary WebSocket message of {Length} bytes from {ConnectionId}: this server accepts only JSON text frames.", EventName = "BinaryMessageDropped")]
        public static partial void BinaryMessageDropped(ILogger logger, int length, string connectionId);

        [LoggerMessage(6, LogLevel.Warning, "Closing {ConnectionId}: an inbound message exceeded {MaxBytes} bytes.", EventName = "MessageTooBig")]
        public static partial void MessageTooBig(ILogger logger, string connectionId, int maxBytes);

        [LoggerMessage(7, LogLevel.Warning, "Client {ConnectionId} sent more than {Limit} messages in one second; its channels are closed.", EventName = "RateLimited")]
        public static partial void RateLimited(ILogger logger, string connectionId, int limit);

        [LoggerMessage(8, LogLevel.Information, "Closing {ConnectionId}: no inbound message for {IdleTimeout}.", EventName = "IdleTimeout")]
        public static partial void IdleTimeout(ILogger logger, string connectionId, TimeSpan idleTimeout);

        [LoggerMessage(9, LogLevel.Warning, "Aborting {ConnectionId}: a send made no progress for {SendTimeout}.", EventName = "SendTimedOut")]
        public static partial void SendTimedOut(ILogger logger, string connectionId, TimeSpan sendTimeout);

        [LoggerMessage(10, LogLevel.Information, "Refused join of {Topic} on {ConnectionId}: {Reason}", EventName = "JoinRefused")]
        private static partial void JoinRefusedCore(ILogger logger, string topic, string connectionId, string reason);

        /// <summary>Logs <c>JoinRefused</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void JoinRefused(ILogger logger, string topic, string connectionId, string reason)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                JoinRefusedCore(logger, LogText.Sanitize(topic), connectionId, LogText.Sanitize(reason));
            }
        }

        [LoggerMessage(11, LogLevel.Debug, "{ConnectionId} joined {Topic} with {BindingCount} active bindings, from sequence {StartAfter}.", EventName = "Joined")]
        private static partial void JoinedCore(ILogger logger, string connectionId, string topic, int bindingCount, long startAfter);

        /// <summary>Logs <c>Joined</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void Joined(ILogger logger, string connectionId, string topic, int bindingCount, long startAfter)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                JoinedCore(logger, connectionId, LogText.Sanitize(topic), bindingCount, startAfter);
            }
        }

        [LoggerMessage(12, LogLevel.Warning, "A client connected to the realtime endpoint, but no ChangeNotifier is registered: call services.AddHeliosRealtime().", EventName = "NotifierMissing")]
        public static partial void NotifierMissing(ILogger logger);

        [LoggerMessage(13, LogLevel.Error, "Realtime WebSocket connection {ConnectionId} failed.", EventName = "ConnectionFailed")]
        public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);

        [LoggerMessage(14, LogLevel.Error, "Channel {Topic} of {ConnectionId} crashed and was closed.", EventName = "ChannelCrashed")]
        private static partial void ChannelCrashedCore(ILogger logger, string topic, string connectionId, Exception exception);

        /// <summary>Logs <c>ChannelCrashed</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void ChannelCrashed(ILogger logger, string topic, string connectionId, Exception exception)
        {
            if (logger.IsEnabled(LogLevel.Error))
            {
                ChannelCrashedCore(logger, LogText.Sanitize(topic), connectionId, exception);
            }
        }

        [LoggerMessage(15, LogLevel.Debug, "Closing {ConnectionId} with {CloseStatus} ({Reason}).", EventName = "Closing")]
        public static partial void Closing(ILogger logger, string connectionId, WebSocketCloseStatus closeStatus, string reason);

        [LoggerMessage(16, LogLevel.Debug, "{ConnectionId} replays changes after sequence {LastSequence} on {Topic}.", EventName = "Replay")]
        private static partial void ReplayCore(ILogger logger, string connectionId, long lastSequence, string topic);

        /// <summary>Logs <c>Replay</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void Replay(ILogger logger, string connectionId, long lastSequence, string topic)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                ReplayCore(logger, connectionId, lastSequence, LogText.Sanitize(topic));
            }
        }

        [LoggerMessage(17, LogLevel.Debug, "Realtime WebSocket {ConnectionId} ended abruptly: {Reason}", EventName = "ConnectionAborted")]
        public static partial void ConnectionAborted(ILogger logger, string connectionId, string reason);

        [LoggerMessage(18, LogLevel.Error, "The AuthorizeJoin callback failed for {Topic} on {ConnectionId}; the join is refused.", EventName = "AuthorizationFailed")]
        private static partial void AuthorizationFailedCore(ILogger logger, string topic, string connectionId, Exception exception);

        /// <summary>Logs <c>AuthorizationFailed</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void AuthorizationFailed(ILogger logger, string topic, string connectionId, Exception exception)
        {
            if (logger.IsEnabled(LogLevel.Error))
            {
                AuthorizationFailedCore(logger, LogText.Sanitize(topic), connectionId, exception);
            }
        }

        [LoggerMessage(19, LogLevel.Warning, "Refused a realtime WebSocket handshake from origin {Origin}: not an allowed origin.", EventName = "OriginRefused")]
        private static partial void OriginRefusedCore(ILogger logger, string origin);

        /// <summary>Logs <c>OriginRefused</c>; the client's text is sanitized (<see cref="LogText"/>) first.</summary>
        public static void OriginRefused(ILogger logger, string origin)
        {
            if (logger.IsEnabled(LogLevel.Warning))
            {
                OriginRefusedCore(logger, LogText.Sanitize(origin));
            }
        }

        [LoggerMessage(20, LogLevel.Warning, "Refused a realtime WebSocket handshake: the endpoint already holds {MaxConnections} connections.", EventName = "ConnectionLimitReached")]
        public static partial void ConnectionLimitReached(ILogger logger, int maxConnections);

        [LoggerMessage(22, LogLevel.Warning, "Closing realtime connection {ConnectionId}: more than {MaxQueued} broadcast or presence messages are waiting for its socket (the client reads too slowly).", EventName = "TopicQueueFull")]
        public static partial void TopicQueueFull(ILogger logger, string connectionId, int maxQueued);

        [LoggerMessage(21, LogLevel.Information, "Refused a broadcast on {Topic} from {ConnectionId}: its payload of {Size} bytes exceeds {MaxBytes}.", EventName = "BroadcastTooLarge")]
        private static partial void BroadcastTooLargeCore(ILogger logger, string topic, string connectionId, int size, int maxBytes);

        /// <summary>Logs <c>BroadcastTooLarge</c>; the client's topic is sanitized (<see cref="LogText"/>) first.</summary>
        public static void BroadcastTooLarge(ILogger logger, string topic, string connectionId, int size, int maxBytes)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                BroadcastTooLargeCore(logger, LogText.Sanitize(topic), connectionId, size, maxBytes);
            }
        }

        [LoggerMessage(23, LogLevel.Information, "Closed channel {Topic} of {ConnectionId}: more than {Limit} presence calls in {Window}.", EventName = "PresenceRateLimited")]
        private static partial void PresenceRateLimitedCore(ILogger logger, string topic, string connectionId, int limit, TimeSpan window);

        /// <summary>Logs <c>PresenceRateLimited</c>; the client's topic is sanitized (<see cref="LogText"/>) first.</summary>
        public static void PresenceRateLimited(ILogger logger, string topic, string connectionId, int limit, TimeSpan window)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                PresenceRateLimitedCore(logger, LogText.Sanitize(topic), connectionId, limit, window);
            }
        }

        [LoggerMessage(24, LogLevel.Debug, "{ConnectionId} replays {Topic} from the change history: after sequence {LastSequence}, older than the ring holds.", EventName = "HistoryReplay")]
        private static partial void HistoryReplayCore(ILogger logger, string connectionId, long lastSequence, string topic);

        /// <summary>Logs <c>HistoryReplay</c>; the client's topic is sanitized (<see cref="LogText"/>) first.</summary>
        public static void HistoryReplay(ILogger logger, string connectionId, long lastSequence, string topic)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                HistoryReplayCore(logger, connectionId, lastSequence, LogText.Sanitize(topic));
            }
        }

        [LoggerMessage(25, LogLevel.Warning, "{ConnectionId} could not read the change history from sequence {FirstSequence}; {Missed} changes are reported as lag and the channel resumes from the ring.", EventName = "HistoryFailed")]
        public static partial void HistoryFailed(ILogger logger, string connectionId, long firstSequence, long missed, Exception exception);
    }
}
