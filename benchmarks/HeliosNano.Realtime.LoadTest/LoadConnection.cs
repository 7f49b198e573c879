using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// One client's counters. Only the connection's own receive path writes them (plain fields, no locks); the fleet reads
/// them after the stream drained, or approximately for progress lines.
/// </summary>
internal abstract class LoadConnection
{
    private readonly TaskCompletionSource<bool> _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastSequence;
    private long _stride = 1;
    private long _phase;

    protected LoadConnection(int id, LatencyHistogram latency)
    {
        Id = id;
        Latency = latency;
    }

    public int Id { get; }

    /// <summary>Change frames received.</summary>
    public long Received;

    /// <summary>Changes the server said this connection missed (its lag system message, summed).</summary>
    public long Lagged;

    /// <summary>Sequence numbers skipped without a lag message (must stay 0).</summary>
    public long Gaps;

    /// <summary>Frames whose sequence did not increase (must stay 0).</summary>
    public long OutOfOrder;

    /// <summary>Frames of a sequence this client should never see (another tenant's row, see <see cref="ExpectEvery"/>; must stay 0).</summary>
    public long Foreign;

    public long Bytes;

    public long LastReceiveTicks;

    /// <summary>The WebSocket close status the server sent, or -1 while none arrived.</summary>
    public int CloseStatus = -1;

    /// <summary>The connection ended with an error (reset, abort) rather than a close frame.</summary>
    public bool Faulted;

    public Task<bool> Joined => _joined.Task;

    /// <summary>Completes when the receive path stopped (close, error or abort).</summary>
    public Task Ended => _ended.Task;

    public bool IsOpen => !_ended.Task.IsCompleted;

    protected LatencyHistogram Latency { get; }

    /// <summary>Sets the last sequence published before this client joined, so its first change is not counted as a gap.</summary>
    public void StartAfter(long sequence) => _lastSequence = sequence;

    /// <summary>
    /// Makes this client expect only every <paramref name="stride"/>-th sequence, the first being
    /// <paramref name="first"/> (a tenant's share of a stream whose rows go round-robin over <paramref name="stride"/>
    /// tenants): a skipped sequence of its own counts as a gap, the others' as nothing, and a lag message counts only
    /// the missed positions that were this client's.
    /// </summary>
    public void ExpectEvery(long stride, long first)
    {
        _stride = stride;
        _phase = ((first % stride) + stride) % stride;
        _lastSequence = first - stride;
    }

    protected void SetJoined(bool ok) => _joined.TrySetResult(ok);

    protected void SetEnded() => _ended.TrySetResult();

    /// <summary>Handles one whole text message: a change frame, a lag message, or a reply.</summary>
    protected void OnFrame(ReadOnlySpan<byte> frame)
    {
        long now = Stopwatch.GetTimestamp();
        Bytes += frame.Length;
        int seqAt = frame.LastIndexOf("\"seq\":"u8);
        if (seqAt >= 0)
        {
            long sequence = FrameScanner.ParseLong(frame[(seqAt + 6)..]);
            int ticksAt = frame.IndexOf("\"sent_ticks\":"u8);
            if (ticksAt >= 0)
            {
                Latency.RecordTicks(now - FrameScanner.ParseLong(frame[(ticksAt + 13)..]), Id);
            }

            Received++;
            if (_stride > 1 && ((sequence % _stride) + _stride) % _stride != _phase)
            {
                Foreign++;
            }
            else if (sequence > _lastSequence + _stride)
            {
                Gaps += Own(_lastSequence + 1, sequence - 1);
            }
            else if (sequence <= _lastSequence)
            {
                OutOfOrder++;
            }

            _lastSequence = Math.Max(_lastSequence, sequence);
            Volatile.Write(ref LastReceiveTicks, now);
            return;
        }

        int missedAt = frame.IndexOf("\"missed\":"u8);
        if (missedAt >= 0)
        {
            // HeliosNano's lag message: {"missed":N,"resume_seq":S}; the next change is S, the N before it are gone.
            long missed = FrameScanner.ParseLong(frame[(missedAt + 9)..]);
            int resumeAt = frame.IndexOf("\"resume_seq\":"u8);
            if (resumeAt >= 0)
            {
                long resume = FrameScanner.ParseLong(frame[(resumeAt + 13)..]);
                Lagged += Own(resume - missed, resume - 1);
                _lastSequence = Math.Max(_lastSequence, resume - 1);
            }
            else
            {
                Lagged += missed;
            }

            return;
        }

        if (!_joined.Task.IsCompleted && frame.IndexOf("\"phx_reply\""u8) >= 0)
        {
            SetJoined(frame.IndexOf("\"status\":\"ok\""u8) >= 0);
        }
    }

    /// <summary>How many sequences in [<paramref name="from"/>, <paramref name="to"/>] are this client's (all of them with a stride of 1).</summary>
    private long Own(long from, long to) => to < from ? 0 : CountUpTo(to) - CountUpTo(from - 1);

    /// <summary>How many k in [0, <paramref name="n"/>] have k mod stride = phase.</summary>
    private long CountUpTo(long n) => n < _phase ? 0 : ((n - _phase) / _stride) + 1;

    /// <summary>Connects and subscribes; completes when the subscription is confirmed.</summary>
    public abstract Task ConnectAsync(Uri server, CancellationToken cancellationToken);

    /// <summary>Closes with a close handshake.</summary>
    public abstract Task CloseAsync(CancellationToken cancellationToken);

    /// <summary>Lets a stuck client read again.</summary>
    public virtual void Unstick()
    {
    }

    /// <summary>Drops the TCP connection without a close frame.</summary>
    public abstract void Abort();
}

/// <summary>Just enough JSON scanning for the load clients: no DOM, no allocation.</summary>
internal static class FrameScanner
{
    public static long ParseLong(ReadOnlySpan<byte> text)
    {
        int i = 0;
        while (i < text.Length && text[i] == (byte)' ')
        {
            i++;
        }

        bool negative = i < text.Length && text[i] == (byte)'-';
        if (negative)
        {
            i++;
        }

        long value = 0;
        for (; i < text.Length && text[i] >= (byte)'0' && text[i] <= (byte)'9'; i++)
        {
            value = (value * 10) + (text[i] - '0');
        }

        return negative ? -value : value;
    }
}
