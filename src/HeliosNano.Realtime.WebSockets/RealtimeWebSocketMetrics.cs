using System.Diagnostics.Metrics;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>The adapter's instruments on the shared <c>HeliosNano.Realtime</c> meter.</summary>
internal sealed class RealtimeWebSocketMetrics : IDisposable
{
    public const string MeterName = "HeliosNano.Realtime";

    private readonly Meter? _ownedMeter;

    /// <summary>The highest change sequence whose shared <c>data</c> JSON any connection has taken; see <see cref="OnChangePayloadUsed"/>.</summary>
    private long _highestSharedSequence;

    public RealtimeWebSocketMetrics(IMeterFactory? meterFactory)
    {
        Meter meter = meterFactory?.Create(MeterName) ?? (_ownedMeter = new Meter(MeterName));
        Connections = meter.CreateUpDownCounter<long>("heliosnano.realtime.ws.connections", "{connection}", "Open realtime WebSocket connections.");
        Channels = meter.CreateUpDownCounter<long>("heliosnano.realtime.ws.channels", "{channel}", "Joined channels over all connections.");
        FramesSent = meter.CreateCounter<long>("heliosnano.realtime.ws.frames.sent", "{frame}", "Text frames sent (replies, system messages and changes).");
        ChangeFramesBuilt = meter.CreateCounter<long>("heliosnano.realtime.ws.change_frames.built", "{frame}", "postgres_changes frames built per connection by copying the change's shared JSON (no serialization).");
        ChangesSerialized = meter.CreateCounter<long>("heliosnano.realtime.ws.changes.serialized", "{change}", "Distinct changes whose data JSON was serialized (once per change, shared by every connection).");
        LaggedChanges = meter.CreateCounter<long>("heliosnano.realtime.ws.changes.lagged", "{change}", "Changes WebSocket connections missed because they read slower than the ring was overwritten.");
        RefusedJoins = meter.CreateCounter<long>("heliosnano.realtime.ws.joins.refused", "{join}", "Joins refused (limit, authorization, bad topic).");
        DroppedMessages = meter.CreateCounter<long>("heliosnano.realtime.ws.messages.dropped", "{message}", "Inbound messages dropped as malformed or over a limit.");
    }

    public UpDownCounter<long> Connections { get; }

    public UpDownCounter<long> Channels { get; }

    public Counter<long> FramesSent { get; }

    public Counter<long> ChangeFramesBuilt { get; }

    public Counter<long> ChangesSerialized { get; }

    public Counter<long> LaggedChanges { get; }

    public Counter<long> RefusedJoins { get; }

    public Counter<long> DroppedMessages { get; }

    /// <summary>
    /// Takes a change's <c>data</c> JSON for a frame. <see cref="ChangeEvent.GetUtf8Json"/> builds it on the first call
    /// and returns the same bytes to every later caller; every connection reads changes in sequence order, so the
    /// first connection to reach a sequence is the one whose call serialized it (an atomic max tells which).
    /// </summary>
    /// <remarks>
    /// Hot path (every frame of every connection): the shared field is only read unless this call is the first for its
    /// change, and nothing is touched while nobody listens to <see cref="ChangesSerialized"/>. Frames built are counted
    /// by the connection and added per burst (<see cref="ChangeFramesBuilt"/>), not here.
    /// </remarks>
    public ReadOnlyMemory<byte> OnChangePayloadUsed(ChangeEvent change)
    {
        if (ChangesSerialized.Enabled)
        {
            CountFirstUse(change.Sequence);
        }

        return change.GetUtf8Json();
    }

    private void CountFirstUse(long sequence)
    {
        long seen = Volatile.Read(ref _highestSharedSequence);
        while (sequence > seen)
        {
            // Atomic max: exactly one caller advances past each sequence, so each change counts once however many
            // connections (on however many threads) frame it.
            long previous = Interlocked.CompareExchange(ref _highestSharedSequence, sequence, seen);
            if (previous == seen)
            {
                ChangesSerialized.Add(1);
                return;
            }

            seen = previous;
        }
    }

    public void Dispose() => _ownedMeter?.Dispose();
}
