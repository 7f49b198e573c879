namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Replay beyond the ring: a join whose <c>last_seq</c> is older than the ring serves reads the missing positions from
/// the registered <see cref="IChangeHistory"/> (the scale-out backplane's shared log), then continues from the ring.
/// </summary>
/// <remarks>
/// <para>
/// <b>Hand-over.</b> While it replays from history the channel takes nothing from the ring
/// (<see cref="RealtimeChannel.StartAfter"/> is <see cref="RealtimeChannel.ReplayingHistory"/>), and the connection's
/// reader goes on serving the other channels. Each history read asks for the positions after the last one the channel
/// got, up to the ring's tail at that moment; once the channel has everything up to the reader's cursor (checked on
/// the connection loop, between two ring reads), it switches to the ring right after the last position history gave
/// it. No position is given twice, none is skipped, and the order is the log's, however fast changes keep arriving:
/// the positions the ring passes meanwhile are still in the log, so the next read brings them.
/// </para>
/// <para>
/// <b>Bounds.</b> One read is in flight per replaying channel, off the connection loop (it wakes the loop when it
/// completes); its entries are delivered <see cref="ChangeBatch"/> at a time between inbound messages and ring
/// changes, and it is cancelled when the connection ends. A read that fails reports the positions it was to bring as
/// lag and hands the channel to the ring, as if history did not exist.
/// </para>
/// </remarks>
internal sealed partial class PostgresChangesExtension
{
    private readonly IChangeHistory? _history;
    private List<HistoryReplay>? _replays;
    private CancellationTokenSource? _historyStop;

    /// <summary>
    /// Starts replaying <paramref name="channel"/> from history when the ring may no longer hold the position after
    /// <paramref name="lastSeen"/> (with a quarter of its capacity to spare, so a burst during the join cannot lap it).
    /// </summary>
    /// <returns><see langword="false"/> when the ring serves the replay (no history, or the ring holds it).</returns>
    private bool TryStartHistoryReplay(RealtimeChannel channel, long lastSeen, long tail)
    {
        if (_history is null || channel.Bindings.Length == 0 || lastSeen >= tail
            || lastSeen + 1 >= _notifier.OldestRetainedSequence + (_notifier.Capacity / 4))
        {
            return false;
        }

        RealtimeConnection.Log.HistoryReplay(_logger, _connection.Id, lastSeen, channel.Topic);
        channel.StartAfter = RealtimeChannel.ReplayingHistory;
        _historyStop ??= new CancellationTokenSource();
        (_replays ??= []).Add(new HistoryReplay(channel, Math.Max(1, lastSeen + 1)));
        return true;
    }

    /// <summary>Advances every history replay: delivers at most <see cref="ChangeBatch"/> entries, starts reads, hands channels over to the ring.</summary>
    /// <returns>Whether anything was delivered or handed over.</returns>
    private async ValueTask<bool> ReplayHistoryAsync()
    {
        bool worked = false;
        int budget = ChangeBatch;
        List<HistoryReplay> replays = _replays!;
        for (int r = 0; r < replays.Count; r++)
        {
            HistoryReplay replay = replays[r];
            while (!_connection.IsEnding)
            {
                if (!_channels.InOrder.Contains(replay.Channel))
                {
                    replay.Done = true; // left, crashed or re-joined: the new join replays for itself
                    break;
                }

                if (replay.Page is null && !TakeReadPage(replay))
                {
                    if (replay.Done)
                    {
                        // Handed over to the ring: a lost range that ended the history goes out before the ring's changes.
                        await FlushLagAsync(replay).ConfigureAwait(false);
                        worked = true;
                    }

                    break;
                }

                ChangeHistoryPage page = replay.Page!;
                while (replay.Index < page.Entries.Count && budget > 0 && !replay.Done && !_connection.IsEnding)
                {
                    ChangeHistoryEntry entry = page.Entries[replay.Index++];
                    budget--;
                    worked = true;
                    if (entry.Change is ChangeEvent change)
                    {
                        await FlushLagAsync(replay).ConfigureAwait(false);
                        replay.Done = !await DeliverToAsync(replay.Channel, change).ConfigureAwait(false);
                    }
                    else
                    {
                        // Adjacent lost ranges (across reads, or around void positions) are told as one lag, as a ring reader does.
                        replay.Missed += entry.Count;
                        replay.Resume = entry.LastSequence + 1;
                    }
                }

                if (replay.Index < page.Entries.Count || replay.Done)
                {
                    break;
                }

                replay.Next = page.LastSequence + 1;
                replay.Page = null;
                if (replay.HandOver)
                {
                    // A read failed: the positions the reader passed since are lost to this channel too.
                    long processed = _reader.NextSequence - 1;
                    if (processed >= replay.Next)
                    {
                        replay.Missed += processed - replay.Next + 1;
                        replay.Resume = processed + 1;
                    }

                    await FlushLagAsync(replay).ConfigureAwait(false);
                    replay.Channel.StartAfter = Math.Max(replay.Next - 1, processed);
                    replay.Done = true;
                    worked = true;
                    break;
                }
            }
        }

        replays.RemoveAll(static r => r.Done);
        return worked;
    }

    private async ValueTask FlushLagAsync(HistoryReplay replay)
    {
        if (replay.Missed > 0 && _channels.InOrder.Contains(replay.Channel))
        {
            long missed = replay.Missed;
            replay.Missed = 0;
            await SendLagAsync(replay.Channel, missed, replay.Resume).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives <paramref name="replay"/> its next page: hands the channel to the ring when it has caught up with the
    /// reader, starts a read when none is in flight, takes a completed one.
    /// </summary>
    /// <returns>Whether a page is ready to deliver.</returns>
    private bool TakeReadPage(HistoryReplay replay)
    {
        long processed = _reader.NextSequence - 1;
        if (replay.Read is null)
        {
            if (replay.Next > processed)
            {
                // Everything up to the reader's cursor was delivered: the ring gives the rest (a stale cursor re-reads
                // positions history already gave, which StartAfter skips).
                replay.Channel.StartAfter = replay.Next - 1;
                replay.Done = true;
                return false;
            }

            replay.Read = ReadPageAsync(new ChangeHistoryPage(_notifier, replay.Next), _notifier.LastSequence);
        }

        if (!replay.Read.IsCompleted)
        {
            return false;
        }

        Task<ChangeHistoryPage> read = replay.Read;
        replay.Read = null;
        if (read.IsCompletedSuccessfully && read.Result.LastSequence >= replay.Next)
        {
            replay.Page = read.Result;
            replay.Index = 0;
            return true;
        }

        if (read.IsCanceled || _connection.IsEnding)
        {
            replay.Done = true;
            return false;
        }

        // Failed (or brought nothing, against the contract): what it was to bring is lost to this channel, exactly
        // counted, and the ring takes over as if there were no history (retrying would report every later batch again).
        long missed = Math.Max(0, processed - replay.Next + 1);
        RealtimeConnection.Log.HistoryFailed(_logger, _connection.Id, replay.Next, missed, read.Exception?.GetBaseException() ?? new InvalidOperationException("The change history returned no position."));
        replay.Page = new ChangeHistoryPage(_notifier, replay.Next);
        if (missed > 0)
        {
            replay.Page.AddLost(replay.Next, processed);
        }

        replay.Index = 0;
        replay.HandOver = true;
        return true;
    }

    private Task<ChangeHistoryPage> ReadPageAsync(ChangeHistoryPage page, long lastSequence)
    {
        Task<ChangeHistoryPage> read = ReadCoreAsync(_history!, page, lastSequence, _historyStop!.Token);

        // Wake the connection loop once the task has completed (not before: the loop checks IsCompleted), and observe
        // a failure that nobody reads because the connection ended meanwhile.
        _ = read.ContinueWith(static (task, state) =>
        {
            _ = task.Exception;
            ((RealtimeConnection)state!).Wake();
        }, _connection, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return read;

        static async Task<ChangeHistoryPage> ReadCoreAsync(IChangeHistory history, ChangeHistoryPage page, long lastSequence, CancellationToken cancellationToken)
        {
            await history.ReadAsync(page, lastSequence, cancellationToken).ConfigureAwait(false);
            return page;
        }
    }

    private void StopHistory()
    {
        if (_historyStop is { } stop)
        {
            _historyStop = null;
            stop.Cancel();
            stop.Dispose();
        }
    }

    /// <summary>One channel's replay from history.</summary>
    private sealed class HistoryReplay(RealtimeChannel channel, long next)
    {
        /// <summary>The replaying channel.</summary>
        public RealtimeChannel Channel { get; } = channel;

        /// <summary>The first position the channel has not been given yet.</summary>
        public long Next { get; set; } = next;

        /// <summary>The read in flight, if any.</summary>
        public Task<ChangeHistoryPage>? Read { get; set; }

        /// <summary>The page being delivered, if any.</summary>
        public ChangeHistoryPage? Page { get; set; }

        /// <summary>The next entry of <see cref="Page"/> to deliver.</summary>
        public int Index { get; set; }

        /// <summary>Lost positions not told yet: they are told as one lag before the next change (or the hand-over).</summary>
        public long Missed { get; set; }

        /// <summary>The position after the last lost one counted in <see cref="Missed"/>: the lag report's <c>resume_seq</c>.</summary>
        public long Resume { get; set; }

        /// <summary>Whether the channel goes to the ring once <see cref="Page"/> is delivered, even if the reader is ahead (a read failed).</summary>
        public bool HandOver { get; set; }

        /// <summary>Whether the replay is over (handed to the ring, or the channel went away).</summary>
        public bool Done { get; set; }
    }
}
