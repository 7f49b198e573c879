using System.Globalization;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

public sealed partial class RedisChangeBackplane
{
    /// <summary>A batch carries at most this many bytes of entries, so one script call stays short in Redis's single thread.</summary>
    private const long MaxAppendBytes = 1024 * 1024;

    /// <summary>
    /// Sends the outbox to Redis, oldest first, one batch per script call; a failed call is retried with the very same
    /// batch and number (the script ignores a batch it already appended), with a backoff of 50 ms doubling to 1 s.
    /// </summary>
    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The floor sent with each append must cover what this node has seen of the log: read it once first.
            await _caughtUp.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            var batch = new List<RedisOutbox.Item>(_options.MaxAppendBatch);
            long batchNumber = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000; // increasing across restarts of this node id too
            bool retrying = false;
            TimeSpan backoff = TimeSpan.Zero;
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!retrying)
                {
                    _outbox.Peek(batch, _options.MaxAppendBatch, MaxAppendBytes);
                    if (batch.Count == 0)
                    {
                        await _queued.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                        _queued.Reader.TryRead(out _);
                        continue;
                    }

                    batchNumber++;
                }

                try
                {
                    RedisResult result = await _connection!.GetDatabase().ScriptEvaluateAsync(RedisLogScripts.Append, _appendKeys, BuildArguments(batch, batchNumber)).ConfigureAwait(false);
                    _outbox.Remove(batch.Count);
                    Interlocked.Increment(ref _appends);
                    retrying = false;
                    backoff = TimeSpan.Zero;
                    MarkConnected();
                    RedisResult[] reply = (RedisResult[])result!;
                    ReportTop(long.Parse((string)reply[1]!, CultureInfo.InvariantCulture));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    retrying = true;
                    MarkFailed("append", ex);
                    backoff = NextBackoff(backoff);
                    await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private RedisValue[] BuildArguments(List<RedisOutbox.Item> batch, long batchNumber)
    {
        var args = new RedisValue[6 + (batch.Count * 2)];
        args[0] = Math.Max(Interlocked.Read(ref _maxSeen), _writer!.LastSequence);
        args[1] = Guid.NewGuid().ToString("N")[..16];
        args[2] = _options.EpochSequenceGap;
        args[3] = _options.LogLength;
        args[4] = batchNumber;
        args[5] = _wakeChannel.ToString();
        int i = 6;
        foreach (RedisOutbox.Item item in batch)
        {
            if (item.Entry is byte[] entry)
            {
                args[i++] = "d";
                args[i++] = entry;
            }
            else
            {
                args[i++] = "g";
                args[i++] = item.GapCount;
            }
        }

        return args;
    }
}
