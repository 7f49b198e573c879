using System.Diagnostics.Metrics;
using System.Text.Json;

namespace HeliosNano.Realtime.Tests;

/// <summary>The notifier findings of the core review (review-core.md #3–#6, #9, #10, #12), each replayed.</summary>
public class ChangeNotifierReviewTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task Notify_MetricsListenerThrows_WaitingReaderIsStillWoken(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ValueTask<bool> wait = reader.WaitToReadAsync(cancellationToken);
        using MeterListener listener = ThrowingListener("heliosnano.realtime.changes.published");

        Assert.That(() => notifier.Insert(id: 1), Throws.InvalidOperationException);
        Task<bool> waitTask = wait.AsTask();
        Task winner = await Task.WhenAny(waitTask, Task.Delay(5000, cancellationToken));
        Assert.That(winner, Is.SameAs(waitTask), "the wake-up ran before the listener threw");
        Assert.That(reader.TryRead(out ChangeEvent? change) && change.Sequence == 1, Is.True);
    }

    [Test]
    public void Subscribe_MetricsListenerThrows_LeavesNoCountBehind()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using (ThrowingListener("heliosnano.realtime.subscribers"))
        {
            Assert.That(() => notifier.Subscribe(ChangeFilter.For("public", "orders")), Throws.InvalidOperationException);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.SubscriberCount, Is.Zero);
            Assert.That(notifier.IsWatched("public", "orders"), Is.False);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task NotifierReadAllAsync_ThrowThenResubscribeAtResumeSequence_LosesNothing(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        var options = new ChangeSubscriptionOptions { LagBehavior = LagBehavior.Throw };
        await using IAsyncEnumerator<ChangeEvent> first = notifier.ReadAllAsync(options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        Task<bool> moved = first.MoveNextAsync().AsTask(); // subscribes, then waits
        while (notifier.SubscriberCount == 0)
        {
            await Task.Yield();
        }

        for (int i = 1; i <= 11; i++)
        {
            notifier.Insert(id: i);
        }

        ChangeLaggedException? lag = await Assert.ThrowsAsync<ChangeLaggedException>(async () =>
        {
            if (await moved)
            {
                while (await first.MoveNextAsync())
                {
                }
            }
        });
        Assert.That((lag!.Missed, lag.ResumeSequence), Is.EqualTo((7L, 8L)));

        var resumed = new List<long>();
        options.StartAfterSequence = lag.ResumeSequence - 1;
        await using IAsyncEnumerator<ChangeEvent> second = notifier.ReadAllAsync(options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (resumed.Count < 4 && await second.MoveNextAsync())
        {
            resumed.Add(second.Current.Sequence);
        }

        Assert.That(resumed, Is.EqualTo(new long[] { 8, 9, 10, 11 }), "7 missed + 4 resumed = 11 notified");
    }

    [Test]
    public void Subscribe_ReplayAfterAnUnwatchedPeriod_GetsNothing_AsDocumented()
    {
        // Documented limit (README "Replay"): changes notified while nobody watched the table took no sequence.
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using (notifier.Subscribe(ChangeFilter.For("public", "orders")))
        {
            notifier.Insert(id: 1);
        }

        Assert.That(notifier.Insert(id: 2), Is.Zero);
        using ChangeReader replay = notifier.Subscribe(new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "orders"), StartAfterSequence = 1 });
        Assert.That(replay.TryRead(out _), Is.False);

        // The documented way out: a standing reader keeps the table sequenced, so the returning one is served.
        using ChangeReader standing = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        notifier.Insert(id: 3);
        using ChangeReader back = notifier.Subscribe(new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "orders"), StartAfterSequence = 1 });
        Assert.That(back.TryRead(out ChangeEvent? change) && TestRows.IdOf(change) == 3, Is.True);
    }

    [Test]
    public void Notify_HandleOfAnotherNotifierThatNobodyWatches_Throws()
    {
        using ChangeNotifier first = TestRows.CreateNotifier();
        using ChangeNotifier second = TestRows.CreateNotifier();
        using ChangeReader reader = second.Subscribe();
        ChangeTable foreign = first.GetTable("public", "orders");
        using (Assert.EnterMultipleScope())
        {
            Assert.Throws<ArgumentException>(() => second.Notify(foreign, ChangeKind.Insert, TestRows.Row, []));
            Assert.Throws<ArgumentException>(() => second.NotifyLost(foreign, ChangeKind.Insert));
            Assert.That(second.LastSequence, Is.Zero);
        }
    }

    [Test]
    public void GetSubscriberCount_AnySchemaEntryForAnotherTable_DoesNotCount()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("*", "orders"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.GetSubscriberCount("public", "users"), Is.Zero, "was 1");
            Assert.That(notifier.IsWatched("public", "users"), Is.False);
            Assert.That(notifier.GetSubscriberCount("audit", "orders"), Is.EqualTo(1));
            Assert.That(notifier.IsWatched("audit", "orders"), Is.True);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public void Subscribe_OptionsMutatedConcurrently_CountsReturnToZero(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        var options = new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "users") };
        ChangeFilter users = ChangeFilter.For("public", "users");
        ChangeFilter orders = ChangeFilter.For("public", "orders");
        using var stop = new CancellationTokenSource();
        Task flipper = Task.Run(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    options.Filter = users;
                    options.Filter = orders;
                }
            },
            cancellationToken);
        for (int i = 0; i < 200_000; i++)
        {
            notifier.Subscribe(options).Dispose();
        }

        stop.Cancel();
        flipper.Wait(cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.GetSubscriberCount("public", "users"), Is.Zero);
            Assert.That(notifier.GetSubscriberCount("public", "orders"), Is.Zero);
            Assert.That(notifier.IsWatched("public", "users"), Is.False);
        }
    }

    [Test]
    public void Notify_RowWriterWritesACommentAfterTheObject_Throws()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        Assert.Throws<ArgumentException>(() => notifier.Notify(
            notifier.GetTable("public", "orders"),
            ChangeKind.Insert,
            0,
            (Utf8JsonWriter writer, int _, RowImage _) =>
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", 1);
                writer.WriteEndObject();
                writer.WriteCommentValue("x");
            }));
        Assert.That(reader.TryRead(out _), Is.False);
    }

    private static MeterListener ThrowingListener(string instrument)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == "HeliosNano.Realtime" && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        bool thrown = false;
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (!thrown)
            {
                thrown = true;
                throw new InvalidOperationException("listener failure");
            }
        });
        listener.SetMeasurementEventCallback<int>((_, _, _, _) =>
        {
            if (!thrown)
            {
                thrown = true;
                throw new InvalidOperationException("listener failure");
            }
        });
        listener.Start();
        return listener;
    }
}
