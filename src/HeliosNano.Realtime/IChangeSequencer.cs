namespace HeliosNano.Realtime;

/// <summary>
/// Gives a <see cref="ChangeNotifier"/>'s changes their positions from outside the process, so that several notifiers
/// (one per application instance) share one total order: a scale-out backplane implements it.
/// </summary>
/// <remarks>
/// <para>
/// Once attached (<see cref="ChangeNotifier.UseSequencer"/>), the notifier no longer numbers changes itself. Each change
/// committed locally is built as usual and handed to <see cref="Submit"/> in the order of the <c>Notify</c> calls,
/// without a sequence number; the sequencer appends it to a shared log and, like every other node, publishes what the
/// log holds into the ring through the <see cref="SequencedChangeWriter"/> given to <see cref="Attach"/>, which is then
/// the ring's only writer. Every table counts as watched, since another node may watch it.
/// </para>
/// <para>
/// <see cref="Submit"/> and <see cref="SubmitLost"/> run on the host's commit path: they must never block and never
/// throw; a sequencer that cannot take a change must count it and report the loss later as a gap
/// (<see cref="SequencedChangeWriter.PublishLost"/> on every node), never drop it silently.
/// </para>
/// </remarks>
public interface IChangeSequencer
{
    /// <summary>Called once, when the notifier attaches this sequencer, with the only writer of the notifier's ring.</summary>
    /// <param name="writer">The writer that publishes changes at the positions the shared log gave them.</param>
    void Attach(SequencedChangeWriter writer);

    /// <summary>Takes a change committed on this node; <see cref="ChangeEvent.Sequence"/> is 0 until the log numbers it.</summary>
    /// <param name="change">The change, immutable; its images and columns are those captured at notify time.</param>
    void Submit(ChangeEvent change);

    /// <summary>Takes a committed change that could not be captured whole (<see cref="ChangeNotifier.NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>).</summary>
    /// <param name="table">The changed table.</param>
    /// <param name="kind">The kind of the lost change.</param>
    /// <param name="commitTimestamp">The commit time.</param>
    void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp);
}
