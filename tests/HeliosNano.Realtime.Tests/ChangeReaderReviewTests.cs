namespace HeliosNano.Realtime.Tests;

/// <summary>The reader findings of the core review (review-core.md #1, #7, #8, #11), each replayed.</summary>
public class ChangeReaderReviewTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task WaitToReadAsync_AfterDisposeWithUnreadChange_ReturnsFalse(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader keepWatched = notifier.Subscribe();
        ChangeReader reader = notifier.Subscribe();
        notifier.Insert(id: 1);
        reader.Dispose();

        Assert.That(await reader.WaitToReadAsync(cancellationToken), Is.False, "was true forever while TryRead said false");
        int loops = 0;
        while (await reader.WaitToReadAsync(cancellationToken) && loops < 1000)
        {
            loops++;
            while (reader.TryRead(out _))
            {
            }
        }

        Assert.That(loops, Is.Zero, "the README loop ends at once");
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await reader.ReadAsync(cancellationToken));
        int enumerated = 0;
        await foreach (ChangeEvent _ in reader.ReadAllAsync(cancellationToken))
        {
            enumerated++;
        }

        Assert.That(enumerated, Is.Zero);
    }

    [Test]
    public void TryRead_OnLaggedCallbackReadsFromTheReader_NoDuplicate()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        var seen = new List<long>();
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions
        {
            OnLagged = (r, _) =>
            {
                if (r.TryRead(out ChangeEvent? peek))
                {
                    seen.Add(peek.Sequence);
                }
            },
        });
        for (int i = 1; i <= 10; i++)
        {
            notifier.Insert(id: i);
        }

        while (reader.TryRead(out ChangeEvent? change))
        {
            seen.Add(change.Sequence);
        }

        Assert.That(seen, Is.EqualTo(new long[] { 7, 8, 9, 10 }), "was [7,7,8,9,10]");
        Assert.That(reader.Received + reader.Missed, Is.EqualTo(10));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ReadAllAsync_ThrowOnFilteredReader_ResumeSequenceIsWhereTheReaderResumed(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        using ChangeReader keepUsersWatched = notifier.Subscribe();
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions
        {
            Filter = ChangeFilter.For("public", "orders"),
            LagBehavior = LagBehavior.Throw,
        });
        for (int i = 1; i <= 9; i++)
        {
            notifier.Insert(table: "users", id: i);
        }

        notifier.Insert(id: 10);
        ChangeLaggedException? lag = await Assert.ThrowsAsync<ChangeLaggedException>(async () =>
        {
            await foreach (ChangeEvent _ in reader.ReadAllAsync(cancellationToken))
            {
            }
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lag!.Missed, Is.EqualTo(6));
            Assert.That(lag.ResumeSequence, Is.EqualTo(7), "the oldest change still held (was 10, the next matching one)");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task GetResult_OfAStaleValueTask_LeavesTheLiveWaitCancellable(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ValueTask<bool> first = reader.WaitToReadAsync(cancellationToken);
        notifier.Insert(id: 1);
        Assert.That(await first, Is.True);
        Assert.That(reader.TryRead(out _), Is.True);

        using var cts = new CancellationTokenSource();
        ValueTask<bool> live = reader.WaitToReadAsync(cts.Token);
        Assert.That(() => first.GetAwaiter().GetResult(), Throws.InvalidOperationException, "a consumed ValueTask");
        await cts.CancelAsync();
        Task<bool> liveTask = live.AsTask();
        Task winner = await Task.WhenAny(liveTask, Task.Delay(5000, cancellationToken));
        Assert.That(winner, Is.SameAs(liveTask), "cancelling the live wait's token ends it");
        Assert.That(liveTask.IsCanceled, Is.True);
    }
}
