namespace HeliosNano.Realtime.Tests;

/// <summary>
/// <see cref="ChangeSubscriptionOptions.WakeFilter"/>: a waiting reader sleeps through the changes its predicate
/// rejects, wakes for one it wants, for half a ring of backlog, and never misses a wanted change however writers race.
/// </summary>
public class ChangeReaderWakeFilterTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task Wait_SleepsThroughRejectedChanges_AndWakesForAWantedOne(CancellationToken ct)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        long judged = 0;
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions
        {
            WakeFilter = c =>
            {
                InterlockedMax(ref judged, c.Sequence);
                return TestRows.IdOf(c) == 99;
            },
        });

        ValueTask<bool> wait = reader.WaitToReadAsync(ct);
        for (int i = 1; i <= 10; i++)
        {
            notifier.Insert(id: i);
        }

        await UntilAsync(() => Volatile.Read(ref judged) == 10, ct);
        Assert.That(wait.IsCompleted, Is.False, "ten rejected changes, all judged: the wait must still be pending");

        notifier.Insert(id: 99);
        Assert.That(await wait, Is.True);
        List<ChangeEvent> read = TestRows.ReadAvailable(reader);
        Assert.That(read.Select(c => c.Sequence), Is.EqualTo(Enumerable.Range(1, 11).Select(i => (long)i)), "reads still return every change the filter admits, in order");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Wait_WithHalfTheRingUnread_WakesEvenIfNothingIsWanted_SoNothingIsLapped(CancellationToken ct)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 64);
        long judged = 0;
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions
        {
            WakeFilter = c =>
            {
                InterlockedMax(ref judged, c.Sequence);
                return false;
            },
        });

        ValueTask<bool> wait = reader.WaitToReadAsync(ct);
        for (int i = 1; i < 32; i++)
        {
            notifier.Insert(id: i);
        }

        await UntilAsync(() => Volatile.Read(ref judged) == 31, ct);
        Assert.That(wait.IsCompleted, Is.False);

        notifier.Insert(id: 32);
        Assert.That(await wait, Is.True, "32 of 64 unread: the reader must move past them before writers overwrite them");
        Assert.That((TestRows.ReadAvailable(reader).Count, reader.Missed), Is.EqualTo((32, 0L)));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Wait_ThrowingWakeFilter_CountsAsWanted(CancellationToken ct)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { WakeFilter = _ => throw new InvalidOperationException("bug") });
        ValueTask<bool> wait = reader.WaitToReadAsync(ct);
        notifier.Insert(id: 1);
        Assert.That(await wait, Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Wait_ChangeOfATableTheFilterExcludes_IsNotJudgedAndDoesNotWake(CancellationToken ct)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        int judged = 0;
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions
        {
            Filter = ChangeFilter.Create([new TableFilter("public", "orders")]),
            WakeFilter = _ =>
            {
                Interlocked.Increment(ref judged);
                return true;
            },
        });

        ValueTask<bool> wait = reader.WaitToReadAsync(ct);
        notifier.Insert(table: "audit");
        notifier.Insert(table: "orders");
        Assert.That(await wait, Is.True);
        Assert.That(Volatile.Read(ref judged), Is.EqualTo(1), "only the orders change reaches the predicate");
    }

    /// <summary>
    /// Rounds of four racing writers (pre-empted between claim and publish) and readers that each want every k-th
    /// position. After each round nothing more is written, so each reader must receive its last wanted position of the
    /// round by that position's own wake-up: one slept through hangs the test. Every position is read in order.
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    [NonParallelizable]
    public async Task Wait_RacingWriters_NoWantedChangeIsEverSleptThrough(CancellationToken ct)
    {
        const int Producers = 4, PerRound = 100, Rounds = 300;
        using var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1024 });
        notifier.BetweenClaimAndPublishForTests = static sequence =>
        {
            if (sequence % 3 == 0)
            {
                Thread.Yield();
            }
        };

        int[] strides = [2, 3, 5, 7, 11];
        var readers = strides.Select((k, r) => new StrideReader(notifier, k, (r + 1) % k)).ToArray();
        Task[] reading = [.. readers.Select(r => Task.Run(() => r.RunAsync(ct), ct))];
        for (int round = 0; round < Rounds; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
            {
                for (int i = 0; i < PerRound; i++)
                {
                    notifier.Insert(id: (p * 1_000_000L) + i);
                }
            }, ct)));
            long end = notifier.LastSequence;
            foreach (StrideReader reader in readers)
            {
                long lastWanted = end - ((end - reader.Phase + reader.Stride) % reader.Stride);
                await UntilAsync(() => Volatile.Read(ref reader.Previous) >= lastWanted, ct);
            }
        }

        notifier.Complete();
        await Task.WhenAll(reading);
        foreach (StrideReader reader in readers)
        {
            Assert.That((reader.Disorder, reader.Received + reader.Missed), Is.EqualTo((0L, notifier.LastSequence)), "every position read in order or reported missed");
        }
    }

    private sealed class StrideReader(ChangeNotifier notifier, int stride, int phase)
    {
        private readonly ChangeReader _reader = notifier.Subscribe(new ChangeSubscriptionOptions { WakeFilter = c => c.Sequence % stride == phase });

        public long Previous;
        public long Received;
        public long Missed;
        public long Disorder;

        public int Stride => stride;

        public int Phase => phase;

        public async Task RunAsync(CancellationToken ct)
        {
            using ChangeReader reader = _reader;
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out ChangeEvent? change, out long lag))
                {
                    Missed += lag;
                    Disorder += change.Sequence == Previous + 1 + lag ? 0 : 1;
                    Received++;
                    Volatile.Write(ref Previous, change.Sequence);
                }
            }
        }
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(5, ct);
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
