using System.Diagnostics.Metrics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>Publishes through <see cref="ChangeNotifier.Notify{TState}(ChangeTable, ChangeKind, TState, ChangeRowWriter{TState}, DateTimeOffset?)"/>; the adapter does the rest.</summary>
/// <remarks>
/// With <c>tenants</c> (the rowpolicy scenario) the rows go round-robin over them, row <c>i</c> to tenant
/// <c>(i - 1) mod T</c>, and when each subscriber sees only its tenant's rows (<c>tenantOnly</c>) the
/// flat-out throttle expects one frame per change for every T-th subscriber.
/// </remarks>
internal sealed class HeliosPublisher : LoadPublisher, IDisposable
{
    private readonly ChangeNotifier _notifier;
    private readonly ChangeTable _table;
    private readonly MeterListener _listener = new();
    private readonly string[]? _tenants;
    private readonly bool _publicRows;
    private readonly int _receiverShare;
    private long _framesBuilt;
    private long _lagged;
    private long _policyEvaluations;

    public HeliosPublisher(ChangeNotifier notifier, string note, string[]? tenants = null, bool tenantOnly = false)
        : base(note)
    {
        _notifier = notifier;
        _tenants = tenants;
        _publicRows = !tenantOnly;
        _receiverShare = tenantOnly && tenants is not null ? tenants.Length : 1;
        _table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        _table.SetColumns(tenants is null ? OrderPayload.Columns : OrderPayload.TenantColumns);

        // The adapter's own counters (public instrument names), read in-process: frames built drive the flat-out
        // throttle, lagged changes cross-check what clients report.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "HeliosNano.Realtime"
                && instrument.Name is "heliosnano.realtime.ws.change_frames.built" or "heliosnano.realtime.ws.changes.lagged" or "heliosnano.realtime.ws.row_policy.evaluations")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, _, state) =>
        {
            var self = (HeliosPublisher)state!;
            switch (instrument.Name)
            {
                case "heliosnano.realtime.ws.change_frames.built":
                    Interlocked.Add(ref self._framesBuilt, value);
                    break;
                case "heliosnano.realtime.ws.changes.lagged":
                    Interlocked.Add(ref self._lagged, value);
                    break;
                default:
                    Interlocked.Add(ref self._policyEvaluations, value);
                    break;
            }
        });
        _listener.Start();
    }

    public override string Target => "helios";

    public override int Subscribers => _notifier.GetSubscriberCount(OrderPayload.Schema, OrderPayload.Table);

    public override int AllSubscribers => _notifier.SubscriberCount;

    public override long FramesBuilt => Interlocked.Read(ref _framesBuilt);

    public override long LaggedChanges => Interlocked.Read(ref _lagged);

    public override long PolicyEvaluations => Interlocked.Read(ref _policyEvaluations);

    public void Dispose() => _listener.Dispose();

    protected override OrderPayload.Row MakeRow(long id, long sentTicks) => _tenants is null
        ? base.MakeRow(id, sentTicks)
        : new(id, sentTicks, Note, _tenants[(id - 1) % _tenants.Length], _publicRows);

    protected override ValueTask<long> PublishAsync(OrderPayload.Row row) =>
        new(_notifier.Notify(_table, ChangeKind.Insert, row, OrderPayload.Writer));

    protected override long Backlog(long published, long framesAtStart)
    {
        int subscribers = Math.Max(1, Subscribers);
        return published - ((FramesBuilt - framesAtStart) * _receiverShare / subscribers);
    }
}
