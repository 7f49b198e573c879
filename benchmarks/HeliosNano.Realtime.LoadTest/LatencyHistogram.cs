using System.Diagnostics;
using System.Numerics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// A lock-free log-linear histogram of microsecond values (HdrHistogram's layout, written small): 32 linear
/// sub-buckets per power of two, so any recorded value is reported within ~3%. Recording is one
/// <see cref="Interlocked.Increment(ref long)"/> on one of several stripes, so thousands of receive loops can record
/// concurrently without sharing a hot counter.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;           // 32 per octave: ~3% resolution
    private const int BucketCount = 64 * SubBuckets;             // covers every long
    private const int Stripes = 16;                              // spreads concurrent writers over cache lines

    private readonly long[][] _counts;
    private long _max;
    private long _total;

    public LatencyHistogram()
    {
        _counts = new long[Stripes][];
        for (int i = 0; i < Stripes; i++)
        {
            _counts[i] = new long[BucketCount];
        }
    }

    public long Count => Interlocked.Read(ref _total);

    public long Max => Interlocked.Read(ref _max);

    /// <summary>Converts a <see cref="Stopwatch"/> tick difference to whole microseconds.</summary>
    public static long TicksToMicroseconds(long ticks) => ticks <= 0 ? 0 : (long)(ticks * 1_000_000.0 / Stopwatch.Frequency);

    public void RecordTicks(long ticks, int stripeHint) => Record(TicksToMicroseconds(ticks), stripeHint);

    public void Record(long micros, int stripeHint)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        // Striped counters: each stripe is its own array, so two writers rarely touch the same cache line.
        Interlocked.Increment(ref _counts[(stripeHint & int.MaxValue) % Stripes][IndexOf(micros)]);
        Interlocked.Increment(ref _total);
        long seen = Interlocked.Read(ref _max);
        while (micros > seen)
        {
            // Atomic max: retry only while another writer raised it meanwhile.
            long previous = Interlocked.CompareExchange(ref _max, micros, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>Adds every value recorded in <paramref name="other"/> (read while nothing records into it).</summary>
    public void Add(LatencyHistogram other)
    {
        long[] merged = other.Merge();
        for (int i = 0; i < merged.Length; i++)
        {
            if (merged[i] != 0)
            {
                Interlocked.Add(ref _counts[0][i], merged[i]);
            }
        }

        Interlocked.Add(ref _total, other.Count);
        long max = other.Max;
        long seen = Interlocked.Read(ref _max);
        while (max > seen)
        {
            long previous = Interlocked.CompareExchange(ref _max, max, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    public void Reset()
    {
        foreach (long[] stripe in _counts)
        {
            Array.Clear(stripe);
        }

        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _max, 0);
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100), as the upper edge of its bucket (max for 100).</summary>
    public long Percentile(double percentile)
    {
        long[] merged = Merge();
        long total = merged.Sum();
        if (total == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(total * percentile / 100.0));
        long running = 0;
        for (int i = 0; i < merged.Length; i++)
        {
            running += merged[i];
            if (running >= rank)
            {
                return Math.Min(UpperEdge(i), Max);
            }
        }

        return Max;
    }

    public LatencySummary Summarize() => new(Count, Percentile(50), Percentile(99), Max);

    private long[] Merge()
    {
        var merged = new long[BucketCount];
        foreach (long[] stripe in _counts)
        {
            for (int i = 0; i < BucketCount; i++)
            {
                merged[i] += Interlocked.Read(ref stripe[i]);
            }
        }

        return merged;
    }

    internal static int IndexOf(long value)
    {
        if (value < 2 * SubBuckets)
        {
            return (int)value;
        }

        int msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        int shift = msb - SubBucketBits;
        return (shift * SubBuckets) + (int)(value >> shift);
    }

    internal static long UpperEdge(int index)
    {
        if (index < 2 * SubBuckets)
        {
            return index;
        }

        int shift = (index / SubBuckets) - 1;
        long top = (index % SubBuckets) + SubBuckets;
        return ((top + 1) << shift) - 1;
    }
}

/// <summary>Count, p50, p99 and max of a latency histogram, in microseconds.</summary>
internal readonly record struct LatencySummary(long Count, long P50, long P99, long Max)
{
    public override string ToString() => Count == 0 ? "n/a" : $"p50 {Format(P50)}, p99 {Format(P99)}, max {Format(Max)}";

    public static string Format(long micros) => micros switch
    {
        < 1_000 => $"{micros} µs",
        < 1_000_000 => $"{micros / 1000.0:0.0} ms",
        _ => $"{micros / 1_000_000.0:0.00} s",
    };
}
