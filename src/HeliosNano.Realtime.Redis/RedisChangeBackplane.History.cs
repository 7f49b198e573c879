using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

public sealed partial class RedisChangeBackplane : IChangeHistory
{
    private long _historyReads;

    /// <summary>Gets how many history reads (one <c>XRANGE</c> each, for clients resuming beyond the ring) this node made.</summary>
    public long HistoryReads => Interlocked.Read(ref _historyReads);

    /// <summary>
    /// Reads positions from the shared log for a client that resumes with a <c>last_seq</c> older than this node's ring
    /// holds: one <c>XRANGE</c> of at most <see cref="RedisBackplaneOptions.ReadBatch"/> entries, read as the tail loop
    /// reads them, so gaps, trimmed positions and epoch jumps become the same lag (or void) as on the live path. The
    /// log keeps about <see cref="RedisBackplaneOptions.LogLength"/> entries: positions it no longer holds are lost.
    /// </summary>
    /// <param name="page">The page to fill, from its <see cref="ChangeHistoryPage.LastSequence"/> + 1.</param>
    /// <param name="lastSequence">The last position wanted (at most this node's ring tail, which the log holds).</param>
    /// <param name="cancellationToken">Ends the wait for Redis.</param>
    /// <returns>A task that completes when the page holds the positions read.</returns>
    /// <exception cref="InvalidOperationException">The backplane is not started.</exception>
    /// <exception cref="RedisException">Redis did not answer; the caller reports the positions as lag.</exception>
    public async ValueTask ReadAsync(ChangeHistoryPage page, long lastSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ConnectionMultiplexer connection = _connection ?? throw new InvalidOperationException("The Redis backplane is not started.");
        long first = page.LastSequence + 1;
        if (lastSequence < first)
        {
            return;
        }

        StreamEntry[] entries = await connection.GetDatabase()
            .StreamRangeAsync(_logKey, Id(first), Id(lastSequence), _options.ReadBatch)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _historyReads);
        var columns = new Dictionary<(string Schema, string Table), (byte[] Json, ChangeColumn[] Columns)>();
        foreach (StreamEntry entry in entries)
        {
            var item = RedisLogItem.Parse(entry);
            if (item.Sequence <= page.LastSequence || item.Sequence > lastSequence)
            {
                continue;
            }

            ((long First, long Last) lost, (long First, long Last) empty) = item.Split(page.LastSequence);
            if (lost.Last >= lost.First)
            {
                page.AddLost(lost.First, lost.Last);
            }

            if (empty.Last >= empty.First)
            {
                page.AddVoid(empty.First, empty.Last);
            }

            if (item.IsChange)
            {
                AddChange(page, item.Sequence, item.Data!, columns);
            }
        }

        if (entries.Length < _options.ReadBatch && page.LastSequence < lastSequence)
        {
            // The range ends before what was asked: the log lost those positions (Redis lost data). A void range always
            // ends at its epoch entry, so missing positions are never void.
            page.AddLost(page.LastSequence + 1, lastSequence);
        }
    }

    private static string Id(long sequence) => sequence.ToString(CultureInfo.InvariantCulture) + "-0";

    private void AddChange(ChangeHistoryPage page, long sequence, byte[] data, Dictionary<(string Schema, string Table), (byte[] Json, ChangeColumn[] Columns)> columns)
    {
        try
        {
            RedisLogEntry.Decoded entry = RedisLogEntry.Decode(data);
            ReadOnlySpan<byte> json = entry.Columns.Span;
            if (!columns.TryGetValue((entry.Schema, entry.Table), out var cached) || !json.SequenceEqual(cached.Json))
            {
                cached = (json.ToArray(), RedisLogEntry.ParseColumns(json));
                columns[(entry.Schema, entry.Table)] = cached;
            }

            ChangeTable table = page.Notifier.GetTable(entry.Schema, entry.Table);
            page.AddChange(sequence, table, entry.Kind, entry.Record.Span, entry.OldRecord.Span, entry.CommitTimestamp, cached.Columns);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            // As the tail loop does: an entry this node cannot read is one lost position.
            Log.BadEntry(_logger, sequence, ex.Message);
            if (page.LastSequence < sequence)
            {
                page.AddLost(sequence, sequence);
            }
        }
    }
}
