using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

public sealed partial class RedisChangeBackplane
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Redis backplane node {NodeId} is connected.", EventName = "Connected")]
        public static partial void Connected(ILogger logger, string nodeId);

        [LoggerMessage(2, LogLevel.Warning, "Redis backplane {Operation} failed ({ExceptionType}: {Message}); changes wait in the outbox and the operation is retried.", EventName = "OperationFailed")]
        public static partial void OperationFailed(ILogger logger, string operation, string exceptionType, string message);

        [LoggerMessage(3, LogLevel.Warning, "Redis connection failed ({FailureType}): {Message}", EventName = "ConnectionFailed")]
        public static partial void ConnectionFailed(ILogger logger, ConnectionFailureType failureType, string? message);

        [LoggerMessage(4, LogLevel.Information, "Redis connection restored.", EventName = "ConnectionRestored")]
        public static partial void ConnectionRestored(ILogger logger);

        [LoggerMessage(5, LogLevel.Warning, "The Redis outbox is full: a change to {Schema}.{Table} was dropped; every client will be told at the same point of the stream.", EventName = "Dropped")]
        public static partial void Dropped(ILogger logger, string schema, string table);

        [LoggerMessage(6, LogLevel.Warning, "The log's epoch changed from {OldEpoch} to {NewEpoch} at sequence {Sequence} (a Redis restart, failover or lost data).", EventName = "EpochChanged")]
        public static partial void EpochChanged(ILogger logger, string oldEpoch, string newEpoch, long sequence);

        [LoggerMessage(7, LogLevel.Warning, "{Count} positions ({First}..{Last}) are published as lost ({Reason}).", EventName = "PositionsLost")]
        public static partial void PositionsLost(ILogger logger, long count, long first, long last, string reason);

        [LoggerMessage(8, LogLevel.Error, "Log entry {Sequence} is unreadable ({Message}); it is published as lost.", EventName = "BadEntry")]
        public static partial void BadEntry(ILogger logger, long sequence, string message);
    }
}
