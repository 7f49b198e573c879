using System.Diagnostics.Metrics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>Publishes through <see cref="ChangeNotifier.Notify{TState}(ChangeTable, ChangeKind, TState, ChangeRowWriter{TState}, DateTimeOffset?)"/>; the adapter does the rest.</summary>
internal sealed class HeliosPublisher : LoadPublisher, IDisposable
{
    private readonly ChangeNotifier _notifier;
    private readonly ChangeTable _table;
    private readonly MeterListener _listener = new();
    private long _framesBuilt;
    private long _lagged;

    public HeliosPublisher(ChangeNotifier notifier, string note)
        : base(note)
    {
        _notifier = notifier;
        _table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        _table.SetColumns(OrderPayload.Columns);

        // The adapter's own counters (public instrument names), read in-process: frames built drive the flat-out
        // throttle, lagged changes cross-check what clients report.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "HeliosNano.Realtime"
                && instrument.Name is "heliosnano.realtime.ws.change_frames.built" or "heliosnano.realtime.ws.changes.lagged")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, _, state) =>
        {
            var self = (HeliosPublisher)state!;
            if (instrument.Name == "heliosnano.realtime.ws.change_frames.built")
            {
                Interlocked.Add(ref self._framesBuilt, value);
            }
            else
            {
                Interlocked.Add(ref self._lagged, value);
            }
        });
        _listener.Start();
    }

    public override string Target => "helios";

    public override int Subscribers => _notifier.GetSubscriberCount(OrderPayload.Schema, OrderPayload.Table);

    public override int AllSubscribers => _notifier.SubscriberCount;

    public override long FramesBuilt => Interlocked.Read(ref _framesBuilt);

    public override long LaggedChanges => Interlocked.Read(ref _lagged);

    public void Dispose() => _listener.Dispose();

    protected override ValueTask<long> PublishAsync(OrderPayload.Row row) =>
        new(_notifier.Notify(_table, ChangeKind.Insert, row, OrderPayload.Writer));

    protected override long Backlog(long published, long framesAtStart)
    {
        int subscribers = Math.Max(1, Subscribers);
        return published - ((FramesBuilt - framesAtStart) / subscribers);
    }
}
