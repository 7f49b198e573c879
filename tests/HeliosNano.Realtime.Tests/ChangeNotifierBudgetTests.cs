using System.Text;

namespace HeliosNano.Realtime.Tests;

/// <summary>The ring's byte budget and lost-change markers: both reach readers as an exact lag, never as silence.</summary>
public class ChangeNotifierBudgetTests
{
    private static byte[] BigRow(long id, int size) => Encoding.UTF8.GetBytes($$"""{"id":{{id}},"pad":"{{new string('x', size)}}"}""");

    [Test]
    public void Notify_RowsOverTheByteBudget_RetainedBytesStayBoundedAndReaderCountsEvictedAsMissed()
    {
        const int RowSize = 100_000;
        using var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1024, MaxRetainedBytes = 1_000_000 });
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable table = notifier.GetTable("public", "docs");
        long maxSeen = 0;
        for (int i = 1; i <= 1100; i++)
        {
            notifier.Notify(table, ChangeKind.Update, BigRow(i, RowSize), []);
            maxSeen = Math.Max(maxSeen, notifier.RetainedBytes);
        }

        var received = new List<long>();
        while (reader.TryRead(out ChangeEvent? change))
        {
            received.Add(change.Sequence);
            Assert.That(TestRows.IdOf(change), Is.EqualTo(change.Sequence));
        }

        using (Assert.EnterMultipleScope())
        {
            // Without the budget the ring would hold 1,024 × 100 KB ≈ 100 MB.
            Assert.That(maxSeen, Is.LessThanOrEqualTo(1_000_000 + RowSize + 256), "the newest change may push it over by itself, never more");
            Assert.That(received, Has.Count.InRange(8, 11), "about budget / row size changes are held");
            Assert.That(received, Is.Ordered.Ascending);
            Assert.That(received[^1], Is.EqualTo(1100));
            Assert.That(reader.Received + reader.Missed, Is.EqualTo(1100), "every change delivered or counted");
            Assert.That(notifier.EvictedChanges, Is.GreaterThan(0));
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(GC.GetTotalMemory(forceFullCollection: true), Is.LessThan(60_000_000), "evicted images are unreachable (100 MB without the budget)");
    }

    [Test]
    public void Notify_OneChangeLargerThanTheBudget_IsStillDelivered()
    {
        using var notifier = new ChangeNotifier(new ChangeNotifierOptions { MaxRetainedBytes = 1000 });
        using ChangeReader reader = notifier.Subscribe();
        notifier.Notify("public", "docs", ChangeKind.Insert, BigRow(1, 5000), []);
        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        Assert.That(change!.Sequence, Is.EqualTo(1));
    }

    [Test]
    public void Notify_SmallChangesUnderTheBudget_NothingEvicted()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        using ChangeReader reader = notifier.Subscribe();
        for (int i = 1; i <= 100; i++)
        {
            notifier.Insert(id: i);
        }

        Assert.That(notifier.EvictedChanges, Is.Zero);
        Assert.That(notifier.RetainedBytes, Is.EqualTo(8 * (TestRows.RowWithId(100).Length + 128)).Within(8 * 2), "exact: laps subtract what they replace");
    }

    [Test]
    public void Options_ZeroByteBudget_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChangeNotifier(new ChangeNotifierOptions { MaxRetainedBytes = 0 }));
    }

    [Test]
    public void NotifyLost_ReaderWhoseFilterCoversIt_CountsOneMissedAndGetsTheNextChange()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        var lagged = new List<long>();
        using ChangeReader all = notifier.Subscribe(new ChangeSubscriptionOptions { OnLagged = (_, n) => lagged.Add(n) });
        using ChangeReader orders = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        using ChangeReader users = notifier.Subscribe(ChangeFilter.For("public", "users"));
        using ChangeReader deletes = notifier.Subscribe(ChangeFilter.For("public", "orders", ChangeKinds.Delete));

        notifier.Insert(id: 1);
        long lost = notifier.NotifyLost("public", "orders", ChangeKind.Insert);
        notifier.Insert(id: 3);
        notifier.Insert(table: "users", id: 4);

        Assert.That(lost, Is.EqualTo(2));
        Assert.That(all.TryRead(out ChangeEvent? a1, out long m1) && a1.Sequence == 1 && m1 == 0, Is.True);
        Assert.That(all.TryRead(out ChangeEvent? a2, out long m2), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((a2!.Sequence, m2), Is.EqualTo((3L, 1L)), "the marker is skipped and reported with the next change");
            Assert.That(lagged, Is.EqualTo(new long[] { 1 }));
            Assert.That(ReadSequences(orders), Is.EqualTo(new long[] { 1, 3 }));
            Assert.That(orders.Missed, Is.EqualTo(1));
            Assert.That(ReadSequences(users), Is.EqualTo(new long[] { 4 }));
            Assert.That(users.Missed, Is.Zero, "a reader that does not watch the table is not told");
            Assert.That(ReadSequences(deletes), Is.Empty);
            Assert.That(deletes.Missed, Is.Zero, "nor one that does not watch the kind");
        }
    }

    [Test]
    public void NotifyLost_UnwatchedTable_ReturnsZero()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader users = notifier.Subscribe(ChangeFilter.For("public", "users"));
        Assert.That(notifier.NotifyLost("public", "orders", ChangeKind.Update), Is.Zero);
        Assert.That(notifier.LastSequence, Is.Zero);
    }

    [Test]
    public void NotifyLost_ReplayOverAMarker_CountsItAsMissed()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using (notifier.Subscribe())
        {
            notifier.Insert(id: 1);
            notifier.NotifyLost("public", "orders", ChangeKind.Delete);
            notifier.Insert(id: 3);
        }

        using ChangeReader replay = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 0 });
        Assert.That(ReadSequences(replay), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(replay.Missed, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Notify_ConcurrentWritersOverBudget_EveryChangeDeliveredOrCountedInOrder(CancellationToken cancellationToken)
    {
        const int PerWriter = 20_000;
        using var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 256, MaxRetainedBytes = 20_000 });
        using ChangeReader reader = notifier.Subscribe();
        Task<(long Received, long Missed)> drain = Task.Run(
            async () =>
            {
                long count = 0;
                long last = 0;
                await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken))
                {
                    Assert.That(change.Sequence, Is.GreaterThan(last));
                    Assert.That(TestRows.IdOf(change) % 1_000_000, Is.LessThan(PerWriter));
                    last = change.Sequence;
                    count++;
                }

                return (count, reader.Missed);
            },
            cancellationToken);
        Task[] writers = [.. Enumerable.Range(0, 3).Select(w => Task.Run(
            () =>
            {
                for (int i = 0; i < PerWriter; i++)
                {
                    notifier.Notify("public", "docs", ChangeKind.Insert, BigRow((w * 1_000_000) + i, 200 + (i % 7 * 100)), []);
                }
            },
            cancellationToken))];
        await Task.WhenAll(writers);
        notifier.Complete();
        (long received, long missed) = await drain;
        Assert.That(received + missed, Is.EqualTo(3 * PerWriter));
        Assert.That(notifier.EvictedChanges, Is.GreaterThan(0));
    }

    private static List<long> ReadSequences(ChangeReader reader)
    {
        var sequences = new List<long>();
        while (reader.TryRead(out ChangeEvent? change))
        {
            sequences.Add(change.Sequence);
        }

        return sequences;
    }
}
