using System.Diagnostics.Metrics;

namespace HeliosNano.Realtime;

/// <summary>The core's instruments on the <c>HeliosNano.Realtime</c> meter.</summary>
internal sealed class RealtimeMetrics : IDisposable
{
    /// <summary>The meter name shared by every HeliosNano.Realtime package.</summary>
    public const string MeterName = "HeliosNano.Realtime";

    private readonly Meter? _ownedMeter;

    public RealtimeMetrics(IMeterFactory? meterFactory)
    {
        // Without a factory (a notifier built by hand) the meter is ours to dispose.
        Meter meter = meterFactory?.Create(MeterName) ?? (_ownedMeter = new Meter(MeterName));
        Published = meter.CreateCounter<long>("heliosnano.realtime.changes.published", "{change}", "Changes published to the ring.");
        Skipped = meter.CreateCounter<long>("heliosnano.realtime.changes.skipped", "{change}", "Changes not published because no subscriber watched their table.");
        Lagged = meter.CreateCounter<long>("heliosnano.realtime.changes.lagged", "{change}", "Changes readers missed because the ring overwrote them first, summed over readers.");
        Subscribers = meter.CreateUpDownCounter<long>("heliosnano.realtime.subscribers", "{subscriber}", "Live subscriptions (readers).");
    }

    public Counter<long> Published { get; }

    public Counter<long> Skipped { get; }

    public Counter<long> Lagged { get; }

    public UpDownCounter<long> Subscribers { get; }

    public void Dispose() => _ownedMeter?.Dispose();
}
