using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>The outbox alone: bounded, never waits, and what it drops becomes exactly one gap at the point of the drops.</summary>
public class RedisOutboxTests
{
    [Test]
    public void TryAdd_PastCapacity_DropsAndQueuesOneGapBeforeTheNextChange()
    {
        var outbox = new RedisOutbox(capacity: 2, maxBytes: 1 << 20, new FakeTimeProvider());
        Assert.That(outbox.TryAdd([1]), Is.True);
        Assert.That(outbox.TryAdd([2]), Is.True);
        Assert.That(outbox.TryAdd([3]), Is.False);
        Assert.That(outbox.TryAdd([4]), Is.False);
        Assert.That(outbox.IsDropping, Is.True);

        var batch = new List<RedisOutbox.Item>();
        outbox.Peek(batch, 10, 1 << 20);
        outbox.Remove(1);
        Assert.That(outbox.TryAdd([5]), Is.True);
        outbox.Peek(batch, 10, 1 << 20);

        Assert.Multiple(() =>
        {
            Assert.That(batch.Select(Describe), Is.EqualTo(new[] { "2", "gap 2", "5" }));
            Assert.That(outbox.DroppedTotal, Is.EqualTo(2));
            Assert.That(outbox.IsDropping, Is.False);
        });
    }

    [Test]
    public void Peek_WhenOnlyDropsAreLeft_QueuesTheGapWithoutWaitingForAChange()
    {
        var outbox = new RedisOutbox(capacity: 1, maxBytes: 1 << 20, new FakeTimeProvider());
        outbox.TryAdd([1]);
        outbox.TryAdd([2]);
        outbox.TryAddLost(3);
        var batch = new List<RedisOutbox.Item>();
        outbox.Peek(batch, 10, 1 << 20);
        outbox.Remove(batch.Count);

        outbox.Peek(batch, 10, 1 << 20);

        Assert.That(batch.Select(Describe), Is.EqualTo(new[] { "gap 4" }));
    }

    [Test]
    public void TryAdd_PastTheByteBudget_Drops()
    {
        var outbox = new RedisOutbox(capacity: 100, maxBytes: 10, new FakeTimeProvider());
        Assert.That(outbox.TryAdd(new byte[8]), Is.True);
        Assert.That(outbox.TryAdd(new byte[8]), Is.False);
        Assert.That(outbox.DroppedTotal, Is.EqualTo(1));
    }

    [Test]
    public void OldestAge_IsTheFrontItemsWait()
    {
        var time = new FakeTimeProvider();
        var outbox = new RedisOutbox(capacity: 10, maxBytes: 1 << 20, time);
        Assert.That(outbox.OldestAge, Is.EqualTo(TimeSpan.Zero));
        outbox.TryAdd([1]);
        time.Advance(TimeSpan.FromSeconds(3));
        outbox.TryAdd([2]);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(outbox.OldestAge, Is.EqualTo(TimeSpan.FromSeconds(4)));
        outbox.Remove(1);
        Assert.That(outbox.OldestAge, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TryAdd_ManyThreads_EveryChangeQueuedOrCountedOnceInOrderPerThread(CancellationToken cancellationToken)
    {
        var outbox = new RedisOutbox(capacity: 64, maxBytes: 1 << 20, new FakeTimeProvider());
        var drained = new List<RedisOutbox.Item>();
        using var done = new CancellationTokenSource();
        Task drain = Task.Run(
            () =>
            {
                var batch = new List<RedisOutbox.Item>();
                while (true)
                {
                    bool finished = done.IsCancellationRequested;
                    outbox.Peek(batch, 16, 1 << 20);
                    outbox.Remove(batch.Count);
                    drained.AddRange(batch);
                    if (finished && batch.Count == 0)
                    {
                        return;
                    }
                }
            },
            cancellationToken);
        Task[] writers = [.. Enumerable.Range(0, 4).Select(t => Task.Run(
            () =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    outbox.TryAdd([(byte)t, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
                }
            },
            cancellationToken))];
        await Task.WhenAll(writers);
        await done.CancelAsync();
        await drain;

        long changes = drained.Count(i => i.Entry is not null);
        long gaps = drained.Where(i => i.Entry is null).Sum(i => i.GapCount);
        Assert.That(changes + gaps, Is.EqualTo(80_000), "every change queued or counted in a gap, once");
        Assert.That(gaps, Is.EqualTo(outbox.DroppedTotal));
        foreach (IGrouping<byte, int> thread in drained.Where(i => i.Entry is not null).GroupBy(i => i.Entry![0], i => (i.Entry![1] << 16) | (i.Entry[2] << 8) | i.Entry[3]))
        {
            int[] order = [.. thread];
            Assert.That(order.Zip(order.Skip(1)).All(p => p.Second > p.First), Is.True, $"thread {thread.Key} keeps its order");
        }
    }

    private static string Describe(RedisOutbox.Item item) => item.Entry is byte[] entry ? entry[0].ToString(System.Globalization.CultureInfo.InvariantCulture) : "gap " + item.GapCount;
}
