using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

public sealed partial class RedisChangeBackplane
{
    /// <summary>
    /// The only writer of this node's ring: subscribes to the wake-up channel, reads back the newest ring-full of the
    /// log once, then reads from the last published position on every wake-up and every probe interval.
    /// </summary>
    private async Task TailAsync(CancellationToken cancellationToken)
    {
        bool caughtUp = false;
        TimeSpan backoff = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (Volatile.Read(ref _subscribed) == 0)
                {
                    // Subscribe before reading, so no wake-up between the read and the subscription is missed; the
                    // multiplexer re-subscribes by itself after a reconnect.
                    await _connection!.GetSubscriber().SubscribeAsync(_wakeChannel, OnWake).ConfigureAwait(false);
                    Volatile.Write(ref _subscribed, 1);
                }

                await SubscribePendingAsync().ConfigureAwait(false);
                if (!caughtUp)
                {
                    await ReadBackAsync().ConfigureAwait(false);
                    caughtUp = true;
                }

                while (await ReadNewAsync().ConfigureAwait(false) == _options.ReadBatch)
                {
                }

                MarkConnected();
                _caughtUp.TrySetResult();
                backoff = TimeSpan.Zero;
                await WaitForWakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                MarkFailed("read", ex);
                backoff = NextBackoff(backoff);
                try
                {
                    await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private void OnWake(RedisChannel channel, RedisValue message)
    {
        if (long.TryParse((string?)message, NumberStyles.None, CultureInfo.InvariantCulture, out long top))
        {
            ReportTop(top);
        }

        _wake.Writer.TryWrite(true);
    }

    private async Task WaitForWakeAsync(CancellationToken cancellationToken)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }

        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(_options.ProbeInterval);
        try
        {
            await _wake.Reader.WaitToReadAsync(probe.Token).ConfigureAwait(false);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The probe: read anyway, in case a wake-up was lost.
        }
    }

    /// <summary>At start-up: the newest ring-full of entries, so that resuming with <c>last_seq</c> works here as on any node.</summary>
    private async Task ReadBackAsync()
    {
        if (_writer!.LastSequence != 0)
        {
            return;
        }

        StreamEntry[] newest = await _connection!.GetDatabase().StreamRangeAsync(_logKey, "-", "+", _writer.Notifier.Capacity, Order.Descending).ConfigureAwait(false);
        Interlocked.Increment(ref _reads);
        for (int i = newest.Length - 1; i >= 0; i--)
        {
            Apply(newest[i]);
        }
    }

    private async Task<int> ReadNewAsync()
    {
        string from = (_writer!.LastSequence + 1).ToString(CultureInfo.InvariantCulture) + "-0";
        StreamEntry[] entries = await _connection!.GetDatabase().StreamRangeAsync(_logKey, from, "+", _options.ReadBatch).ConfigureAwait(false);
        Interlocked.Increment(ref _reads);
        foreach (StreamEntry entry in entries)
        {
            Apply(entry);
        }

        return entries.Length;
    }

    /// <summary>Publishes one stream entry at its position, after publishing as lost (or void) the positions before it it accounts for.</summary>
    private void Apply(StreamEntry entry)
    {
        SequencedChangeWriter writer = _writer!;
        var item = RedisLogItem.Parse(entry);
        long last = writer.LastSequence;
        if (item.Sequence <= last)
        {
            return; // read twice (a probe raced a wake-up)
        }

        ReportTop(item.Sequence);
        if (item.Epoch is string epoch)
        {
            if (_epoch is not null && _epoch != epoch)
            {
                Interlocked.Increment(ref _epochChanges);
                Log.EpochChanged(_logger, _epoch, epoch, item.Sequence);
            }

            _epoch = epoch;
        }

        ((long First, long Last) lost, (long First, long Last) empty) = item.Split(last);
        if (lost.Last >= lost.First)
        {
            LoseRange(writer, lost.First, lost.Last, item.LossReason);
        }

        if (empty.Last >= empty.First)
        {
            writer.PublishVoid(empty.First, empty.Last);
        }

        if (item.IsChange)
        {
            PublishChange(writer, item.Sequence, item.Data!);
        }
    }

    private void LoseRange(SequencedChangeWriter writer, long first, long last, string reason)
    {
        Interlocked.Add(ref _gapPositions, last - first + 1);
        Log.PositionsLost(_logger, last - first + 1, first, last, reason);
        writer.PublishLost(first, last);
    }

    private void PublishChange(SequencedChangeWriter writer, long sequence, byte[] data)
    {
        RedisLogEntry.Decoded entry;
        try
        {
            entry = RedisLogEntry.Decode(data);
        }
        catch (JsonException ex)
        {
            Log.BadEntry(_logger, sequence, ex.Message);
            LoseRange(writer, sequence, sequence, "unreadable");
            return;
        }

        ChangeTable table = writer.Notifier.GetTable(entry.Schema, entry.Table);
        try
        {
            writer.Publish(sequence, table, entry.Kind, entry.Record.Span, entry.OldRecord.Span, entry.CommitTimestamp, GetColumns(entry));
        }
        catch (ArgumentException ex)
        {
            Log.BadEntry(_logger, sequence, ex.Message);
            if (writer.LastSequence < sequence)
            {
                LoseRange(writer, sequence, sequence, "unreadable");
            }
        }
    }

    /// <summary>The column list of an entry, the same object for the same JSON, so the ring builds the column set once per schema.</summary>
    private ChangeColumn[] GetColumns(in RedisLogEntry.Decoded entry)
    {
        var key = (entry.Schema, entry.Table);
        ReadOnlySpan<byte> json = entry.Columns.Span;
        if (_columns.TryGetValue(key, out var cached) && json.SequenceEqual(cached.Json))
        {
            return cached.Columns;
        }

        ChangeColumn[] columns = RedisLogEntry.ParseColumns(json);
        _columns[key] = (json.ToArray(), columns);
        return columns;
    }
}
