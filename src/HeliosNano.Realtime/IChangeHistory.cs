namespace HeliosNano.Realtime;

/// <summary>
/// Reads back, by sequence number, changes older than a <see cref="ChangeNotifier"/>'s ring still holds: the shared log
/// of a scale-out backplane implements it, so a client that resumes with a position the ring has overwritten is given
/// the changes from the log instead of a lag.
/// </summary>
/// <remarks>
/// <para>
/// Optional: register one in the service collection (the Redis backplane does) and the WebSocket adapter uses it when a
/// join's <c>last_seq</c> is older than the ring serves. Without one, a replay comes from the ring alone, at no extra cost.
/// </para>
/// <para>
/// The positions are those of the notifier's ring (the same numbers the sequencer gave the ring), so a source must
/// describe every position of the range it covers, in order: a change, a lost position (one it no longer holds, or
/// that held a change nobody could have — a gap), or a void one (a position that never held a change, e.g. after an
/// epoch's sequence jump), exactly as its sequencer published them into the ring.
/// </para>
/// </remarks>
public interface IChangeHistory
{
    /// <summary>
    /// Appends to <paramref name="page"/> the positions from <see cref="ChangeHistoryPage.LastSequence"/> + 1 up to at
    /// most <paramref name="lastSequence"/>: one bounded read (a source reads in batches; the caller asks again for the
    /// rest), which covers at least one position when the range is not empty.
    /// </summary>
    /// <param name="page">The page to fill; its <see cref="ChangeHistoryPage.Notifier"/> owns the table handles to use.</param>
    /// <param name="lastSequence">The last position wanted.</param>
    /// <param name="cancellationToken">Ends the read (the connection that wanted it went away).</param>
    /// <returns>A task that completes when the page holds what this read covered.</returns>
    ValueTask ReadAsync(ChangeHistoryPage page, long lastSequence, CancellationToken cancellationToken);
}
