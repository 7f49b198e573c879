namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The scaleout scenario's publisher: <see cref="ChangeNotifier.Notify{TState}(ChangeTable, ChangeKind, TState, ChangeRowWriter{TState}, DateTimeOffset?)"/>
/// as <see cref="HeliosPublisher"/>, but flat out it is throttled by the tool, which sees the clients of every node:
/// it publishes while its count stays within the allowance the tool last posted (<c>POST /load/allow?upto=N</c>).
/// </summary>
/// <remarks>
/// With a Redis backplane, <c>Notify</c> hands the change to the backplane's outbox and returns a ticket, not the
/// sequence; the change reaches this node's ring, like every other node's, only through the Redis stream. A local
/// throttle (frames built here) would not see a slower node, so the tool keeps the slowest node's average backlog per
/// client under <see cref="LoadPublisher.FlatOutWindow"/>; the single-node configurations use the same throttle.
/// </remarks>
internal sealed class ScaleOutPublisher : LoadPublisher
{
    private readonly ChangeNotifier _notifier;
    private readonly ChangeTable _table;
    private long _allowed = long.MaxValue;

    public ScaleOutPublisher(ChangeNotifier notifier, string note)
        : base(note)
    {
        _notifier = notifier;
        _table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        _table.SetColumns(OrderPayload.Columns);
    }

    public override string Target => "helios";

    public override int Subscribers => _notifier.SubscriberCount;

    public override int AllSubscribers => _notifier.SubscriberCount;

    /// <summary>Lets the current (or next) flat-out run publish until its count exceeds <paramref name="published"/>; negative = no limit.</summary>
    public void Allow(long published) => Volatile.Write(ref _allowed, published < 0 ? long.MaxValue : published);

    protected override ValueTask<long> PublishAsync(OrderPayload.Row row) =>
        new(_notifier.Notify(_table, ChangeKind.Insert, row, OrderPayload.Writer));

    // The base loop waits while this exceeds FlatOutWindow, i.e. while the count is past the allowance.
    protected override long Backlog(long published, long framesAtStart)
    {
        long allowed = Volatile.Read(ref _allowed);
        return allowed == long.MaxValue ? 0 : published - allowed + FlatOutWindow;
    }
}
