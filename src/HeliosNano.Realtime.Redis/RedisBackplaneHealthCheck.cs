using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// Reports the Redis backplane: <b>Healthy</b> while Redis answers and the outbox drains; <b>Degraded</b> while Redis is
/// unreachable or slow but changes still fit in the outbox (writes succeed, delivery to other nodes waits);
/// <b>Unhealthy</b> while changes are being dropped (clients will be told a lag).
/// </summary>
internal sealed class RedisBackplaneHealthCheck(RedisChangeBackplane backplane) : IHealthCheck
{
    /// <summary>An outbox whose oldest change waited longer than this is reported as degraded.</summary>
    private static readonly TimeSpan s_slow = TimeSpan.FromSeconds(5);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        TimeSpan oldest = backplane.OldestBufferedAge;
        var data = new Dictionary<string, object>
        {
            ["node"] = backplane.NodeId,
            ["connected"] = backplane.IsConnected,
            ["outboxDepth"] = backplane.OutboxDepth,
            ["oldestBufferedMs"] = (long)oldest.TotalMilliseconds,
            ["dropped"] = backplane.DroppedChanges,
            ["lag"] = backplane.Lag,
            ["lastSequence"] = backplane.LastSequence,
            ["epoch"] = backplane.Epoch ?? "",
            ["epochChanges"] = backplane.EpochChanges,
            ["lostPositions"] = backplane.LostPositions,
            ["appends"] = backplane.Appends,
            ["reads"] = backplane.Reads,
            ["historyReads"] = backplane.HistoryReads,
        };
        HealthCheckResult result = backplane.IsDropping
            ? HealthCheckResult.Unhealthy("The outbox is full: committed changes are dropped and reported to clients as lag.", data: data)
            : !backplane.IsConnected
                ? HealthCheckResult.Degraded("Redis is unreachable: committed changes wait in the outbox.", data: data)
                : oldest > s_slow
                    ? HealthCheckResult.Degraded("Redis is slow: the outbox is not draining.", data: data)
                    : HealthCheckResult.Healthy("Redis backplane connected.", data);
        return Task.FromResult(result);
    }
}
