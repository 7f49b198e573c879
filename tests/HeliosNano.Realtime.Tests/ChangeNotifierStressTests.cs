using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;

namespace HeliosNano.Realtime.Tests;

/// <summary>
/// Many writers and many readers (some deliberately slow, one filtered) on one ring: every reader must get every change
/// exactly once and in commit order, except for reported lags whose counts add up exactly.
/// </summary>
[NonParallelizable]
public class ChangeNotifierStressTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task Notify_ManyWritersManyReaders_NothingLostDuplicatedOrReorderedBeyondReportedLag(CancellationToken cancellationToken)
    {
        Outcome outcome = await RunAsync(producers: 4, perProducer: 250_000, capacity: 1024, preempt: false, cancellationToken);

        Assert.That(outcome.Notifier.LastSequence, Is.EqualTo(1_000_000));
        Assert.That(outcome.Readers.Single(r => r.Name == "slow").Reader.Missed, Is.GreaterThan(0), "the slow reader must have been lapped for this test to mean anything");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Notify_WritersPreemptedBetweenClaimAndPublish_LappedWritesAreLagNeverReorder(CancellationToken cancellationToken)
    {
        Outcome outcome = await RunAsync(producers: 4, perProducer: 50_000, capacity: 16, preempt: true, cancellationToken);

        Assert.That(outcome.Notifier.LappedWrites, Is.GreaterThan(0), "the scenario must make a later lap overtake a pre-empted writer");
    }

    private static async Task<Outcome> RunAsync(int producers, int perProducer, int capacity, bool preempt, CancellationToken cancellationToken)
    {
        var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = capacity });
        long total = (long)producers * perProducer;
        long[] owner = new long[total + 1]; // owner[sequence] = producer << 32 | counter, as Notify returned it
        if (preempt)
        {
            notifier.BetweenClaimAndPublishForTests = static sequence =>
            {
                // Pre-empt at the worst moment: claimed, not yet published.
                if (sequence % 997 == 0)
                {
                    Thread.Sleep(1);
                }
                else if (sequence % 31 == 0)
                {
                    Thread.Yield();
                }
            };
        }

        var filteredGaps = new ConcurrentQueue<(long From, long To)>();
        ReaderRun[] runs =
        [
            new(notifier, "fast-async", notifier.Subscribe(new ChangeSubscriptionOptions { Name = "fast-async" }), SlowEvery: 0, Filtered: false),
            new(notifier, "fast-async-2", notifier.Subscribe(new ChangeSubscriptionOptions { Name = "fast-async-2" }), SlowEvery: 0, Filtered: false),
            new(notifier, "slow", notifier.Subscribe(new ChangeSubscriptionOptions { Name = "slow" }), SlowEvery: 256, Filtered: false),
            new(notifier, "slow-sync", notifier.Subscribe(new ChangeSubscriptionOptions { Name = "slow-sync" }), SlowEvery: 1000, Filtered: false, Sync: true),
            new(notifier, "filtered", notifier.Subscribe(new ChangeSubscriptionOptions
            {
                Name = "filtered",
                Filter = ChangeFilter.For("public", "t0"),
                // Called when the lap is found, with the cursor already at the resume point: the exact range skipped.
                OnLagged = (reader, skipped) => filteredGaps.Enqueue((reader.NextSequence - skipped, reader.NextSequence)),
            }), SlowEvery: 0, Filtered: true),
        ];

        Task[] readerTasks = [.. runs.Select(run => run.Sync
            ? Task.Factory.StartNew(() => run.ReadSync(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.Run(() => run.ReadAsync(cancellationToken), cancellationToken))];

        Thread[] writers = [.. Enumerable.Range(0, producers).Select(p => new Thread(() =>
        {
            ChangeTable table = notifier.GetTable("public", "t" + p);
            byte[] row = new byte[64];
            for (int c = 0; c < perProducer; c++)
            {
                int length = Encoding.UTF8.GetBytes($$"""{"p":{{p}},"c":{{c}}}""", row);
                long sequence = notifier.Notify(table, ChangeKind.Insert, row.AsSpan(0, length), []);
                owner[sequence] = ((long)p << 32) | (uint)c;
                if (c % 4096 == 0)
                {
                    Thread.Yield();
                }
            }
        }) { IsBackground = true, Name = "writer-" + p })];

        foreach (Thread writer in writers)
        {
            writer.Start();
        }

        foreach (Thread writer in writers)
        {
            writer.Join();
        }

        notifier.Complete();
        await Task.WhenAll(readerTasks).WaitAsync(cancellationToken);

        foreach (ReaderRun run in runs)
        {
            Verify(run, owner, total, run.Filtered ? filteredGaps : null);
        }

        foreach (ReaderRun run in runs)
        {
            run.Reader.Dispose();
        }

        Assert.That(notifier.SubscriberCount, Is.Zero);
        return new Outcome(notifier, runs);
    }

    private static void Verify(ReaderRun run, long[] owner, long total, IEnumerable<(long From, long To)>? gaps)
    {
        bool[] received = new bool[total + 1];
        bool[] missed = new bool[total + 1];
        long expected = 1;
        long missedSum = 0;
        var lastCounter = new Dictionary<int, int>();
        foreach ((long sequence, long missedBefore, long payload) in run.Log)
        {
            for (long s = expected; s < expected + missedBefore; s++)
            {
                missed[s] = true;
            }

            missedSum += missedBefore;
            long firstPossible = expected + missedBefore;
            if (run.Filtered ? sequence < firstPossible : sequence != firstPossible)
            {
                Assert.Fail($"{run.Name}: got sequence {sequence} where {firstPossible} was due (reorder, duplicate or unreported gap)");
            }

            if (payload != owner[sequence])
            {
                Assert.Fail($"{run.Name}: sequence {sequence} carried the payload of another change");
            }

            int producer = (int)(payload >> 32);
            int counter = (int)(uint)payload;
            if (lastCounter.TryGetValue(producer, out int previous) && counter <= previous)
            {
                Assert.Fail($"{run.Name}: writer {producer}'s changes arrived out of order ({previous} then {counter})");
            }

            lastCounter[producer] = counter;
            received[sequence] = true;
            expected = sequence + 1;
        }

        using (Assert.EnterMultipleScope())
        {
            if (!run.Filtered)
            {
                Assert.That(missedSum, Is.EqualTo(run.Reader.Missed), $"{run.Name}: reported lags add up to Missed");
                Assert.That(run.Log.Count + missedSum, Is.EqualTo(total), $"{run.Name}: received + missed = notified");
            }
            else
            {
                // A filtered reader's gaps are not contiguous with its last change: take them from OnLagged.
                Array.Clear(missed);
                long gapSum = 0;
                foreach ((long from, long to) in gaps!)
                {
                    gapSum += to - from;
                    for (long s = from; s < to; s++)
                    {
                        missed[s] = true;
                    }
                }

                Assert.That(gapSum, Is.EqualTo(run.Reader.Missed), $"{run.Name}: the lags reported add up to Missed");
                Assert.That(missedSum, Is.LessThanOrEqualTo(gapSum), $"{run.Name}: a lap after its last change is reported only with a later change");

                // Every change of the filtered table outside a reported gap was received, and none inside one.
                long lost = 0;
                for (long s = 1; s <= total; s++)
                {
                    if ((owner[s] >> 32) == 0 && received[s] == missed[s])
                    {
                        lost++;
                    }
                }

                Assert.That(lost, Is.Zero, $"{run.Name}: changes of its table neither received nor reported missed, or both");
            }
        }
    }

    private static long DecodePayload(ChangeEvent change)
    {
        // {"p":<p>,"c":<c>} — parse without allocating, so the readers stay fast.
        ReadOnlySpan<byte> json = change.Record.Span;
        int p = json.IndexOf("\"p\":"u8) + 4;
        int c = json.IndexOf("\"c\":"u8) + 4;
        return Utf8Parser.TryParse(json[p..], out int producer, out _) && Utf8Parser.TryParse(json[c..], out int counter, out _)
            ? ((long)producer << 32) | (uint)counter
            : -1;
    }

    private sealed record Outcome(ChangeNotifier Notifier, ReaderRun[] Readers);

    private sealed record ReaderRun(ChangeNotifier Notifier, string Name, ChangeReader Reader, int SlowEvery, bool Filtered, bool Sync = false)
    {
        public ConcurrentQueue<(long Sequence, long MissedBefore, long Payload)> Log { get; } = new();

        public async Task ReadAsync(CancellationToken cancellationToken)
        {
            long n = 0;
            while (await Reader.WaitToReadAsync(cancellationToken))
            {
                while (Reader.TryRead(out ChangeEvent? change, out long missed))
                {
                    Log.Enqueue((change.Sequence, missed, DecodePayload(change)));
                    if (SlowEvery > 0 && ++n % SlowEvery == 0)
                    {
                        await Task.Delay(2, cancellationToken);
                    }
                }
            }
        }

        public void ReadSync(CancellationToken cancellationToken)
        {
            long n = 0;
            var spin = new SpinWait();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Reader.TryRead(out ChangeEvent? change, out long missed))
                {
                    spin.Reset();
                    Log.Enqueue((change.Sequence, missed, DecodePayload(change)));
                    if (SlowEvery > 0 && ++n % SlowEvery == 0)
                    {
                        Thread.Sleep(1);
                    }
                }
                else if (Notifier.IsCompleted && Reader.NextSequence > Notifier.LastSequence)
                {
                    return;
                }
                else
                {
                    spin.SpinOnce();
                }
            }
        }
    }
}
