using System.Diagnostics.Metrics;

namespace HeliosNano.Realtime.Redis;

/// <summary>The backplane's observable instruments on the shared <c>HeliosNano.Realtime</c> meter.</summary>
internal sealed class RedisBackplaneMetrics : IDisposable
{
    private readonly Meter? _ownedMeter;

    public RedisBackplaneMetrics(RedisChangeBackplane backplane, IMeterFactory? meterFactory)
    {
        Meter meter = meterFactory?.Create("HeliosNano.Realtime") ?? (_ownedMeter = new Meter("HeliosNano.Realtime"));
        meter.CreateObservableGauge("heliosnano.realtime.redis.connected", () => backplane.IsConnected ? 1 : 0, "{state}", "1 while the last Redis operation succeeded, else 0.");
        meter.CreateObservableGauge("heliosnano.realtime.redis.outbox.depth", () => backplane.OutboxDepth, "{change}", "Locally committed changes waiting for Redis.");
        meter.CreateObservableGauge("heliosnano.realtime.redis.outbox.oldest_age", () => backplane.OldestBufferedAge.TotalSeconds, "s", "How long the oldest change in the outbox has waited.");
        meter.CreateObservableCounter("heliosnano.realtime.redis.outbox.dropped", () => backplane.DroppedChanges, "{change}", "Changes dropped because the outbox was full (reported to clients as lag).");
        meter.CreateObservableGauge("heliosnano.realtime.redis.lag", () => backplane.Lag, "{change}", "Positions the log holds that this node has not published into its ring yet.");
        meter.CreateObservableCounter("heliosnano.realtime.redis.lost_positions", () => backplane.LostPositions, "{change}", "Positions published as lost: gaps, trimmed entries, changes lost with Redis data.");
        meter.CreateObservableCounter("heliosnano.realtime.redis.epoch_changes", () => backplane.EpochChanges, "{epoch}", "Epoch changes of the log seen by this node.");
        meter.CreateObservableCounter("heliosnano.realtime.redis.appends", () => backplane.Appends, "{call}", "Append script calls (one per batch of changes).");
        meter.CreateObservableCounter("heliosnano.realtime.redis.reads", () => backplane.Reads, "{call}", "Stream reads by this node's tail loop.");
        meter.CreateObservableCounter("heliosnano.realtime.redis.history_reads", () => backplane.HistoryReads, "{call}", "Stream reads for clients that resume beyond this node's ring.");
    }

    public void Dispose() => _ownedMeter?.Dispose();
}
