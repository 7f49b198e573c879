namespace HeliosNano.Realtime.Tests;

public class ChangeReaderTests
{
    [Test]
    public void TryRead_WhenWriterLapsReader_SkipsToOldestRetainedAndCountsMissed()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        using ChangeReader reader = notifier.Subscribe();
        for (int i = 1; i <= 10; i++)
        {
            notifier.Insert(id: i);
        }

        Assert.That(reader.TryRead(out ChangeEvent? change, out long missed), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(change!.Sequence, Is.EqualTo(7), "oldest retained = last (10) - capacity (4) + 1");
            Assert.That(missed, Is.EqualTo(6));
            Assert.That(reader.Missed, Is.EqualTo(6));
        }

        long[] rest = [.. TestRows.ReadAvailable(reader).Select(c => c.Sequence)];
        Assert.That(rest, Is.EqualTo(new long[] { 8, 9, 10 }));
        Assert.That(reader.Received + reader.Missed, Is.EqualTo(10));
    }

    [Test]
    public void TryRead_WrapAroundManyTimes_CountsExactlyAndKeepsOrder()
    {
        const int Capacity = 8;
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: Capacity);
        using ChangeReader reader = notifier.Subscribe();
        var received = new List<long>();
        long missedTotal = 0;
        var random = new Random(42);
        long published = 0;

        for (int round = 0; round < 500; round++)
        {
            // Bursts from 0 to 5 laps long, then read a random part of what is there.
            int burst = random.Next(0, Capacity * 5);
            for (int i = 0; i < burst; i++)
            {
                notifier.Insert(id: ++published);
            }

            int reads = random.Next(0, Capacity * 2);
            for (int i = 0; i < reads && reader.TryRead(out ChangeEvent? change, out long missed); i++)
            {
                long expected = (received.Count == 0 ? 1 : received[^1] + 1) + missed;
                Assert.That(change.Sequence, Is.EqualTo(expected), "a read resumes exactly after the reported gap");
                Assert.That(TestRows.IdOf(change), Is.EqualTo(change.Sequence), "the payload belongs to the sequence");
                missedTotal += missed;
                received.Add(change.Sequence);
            }
        }

        while (reader.TryRead(out ChangeEvent? change, out long missed))
        {
            missedTotal += missed;
            received.Add(change.Sequence);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(received, Is.Ordered.And.Unique);
            Assert.That(received.Count + missedTotal, Is.EqualTo(published), "every change was either received or reported missed");
            Assert.That(reader.Missed, Is.EqualTo(missedTotal));
            Assert.That(missedTotal, Is.GreaterThan(0), "the scenario must actually lap the reader");
        }
    }

    [Test]
    public void Subscribe_StartAfterSequenceStillHeld_ReplaysFromThere()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        using ChangeReader keepWatched = notifier.Subscribe();
        for (int i = 1; i <= 6; i++)
        {
            notifier.Insert(id: i);
        }

        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 3 });
        notifier.Insert(id: 7);

        Assert.That(TestRows.ReadAvailable(reader).Select(c => c.Sequence), Is.EqualTo(new long[] { 4, 5, 6, 7 }));
        Assert.That(reader.Missed, Is.Zero);
    }

    [Test]
    public void Subscribe_StartAfterZero_ReplaysEverythingHeld()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        using ChangeReader keepWatched = notifier.Subscribe();
        for (int i = 1; i <= 3; i++)
        {
            notifier.Insert(id: i);
        }

        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 0 });

        Assert.That(TestRows.ReadAvailable(reader).Select(c => c.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [Test]
    public void Subscribe_StartAfterSequenceNoLongerHeld_ReportsTheGapAtOnce()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        using ChangeReader keepWatched = notifier.Subscribe();
        for (int i = 1; i <= 20; i++)
        {
            notifier.Insert(id: i);
        }

        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 5 });

        Assert.That(reader.TryRead(out ChangeEvent? change, out long missed), Is.True);
        Assert.That(change!.Sequence, Is.EqualTo(17));
        Assert.That(missed, Is.EqualTo(11), "6..16 were overwritten");
    }

    [Test]
    public void Subscribe_StartAfterFutureSequence_StartsLive()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader keepWatched = notifier.Subscribe();
        notifier.Insert();

        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 1000 });
        notifier.Insert(id: 2);

        Assert.That(TestRows.ReadAvailable(reader).Select(c => c.Sequence), Is.EqualTo(new long[] { 2 }));
    }

    [Test]
    public void Subscribe_Default_StartsWithTheNextChange()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader early = notifier.Subscribe();
        notifier.Insert(id: 1);

        using ChangeReader late = notifier.Subscribe();
        notifier.Insert(id: 2);

        Assert.That(TestRows.ReadAvailable(late).Select(TestRows.IdOf), Is.EqualTo(new long[] { 2 }));
        Assert.That(TestRows.ReadAvailable(early).Select(TestRows.IdOf), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void TryRead_Filter_SelectsTablesAndKindsAndSkippedChangesAreNotLag()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 16);
        using ChangeReader orders = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        using ChangeReader deletes = notifier.Subscribe(ChangeFilter.For("public", "*", ChangeKinds.Delete));
        using ChangeReader anySchemaUsers = notifier.Subscribe(ChangeFilter.For("*", "users"));

        notifier.Insert("orders", 1);
        notifier.Insert("users", 2);
        notifier.Notify("public", "orders", ChangeKind.Delete, [], TestRows.RowWithId(3));
        notifier.Insert("users", 4, schema: "audit");
        notifier.Notify("audit", "orders", ChangeKind.Delete, [], TestRows.RowWithId(5));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(TestRows.ReadAvailable(orders).Select(TestRows.IdOf), Is.EqualTo(new long[] { 1, 3 }));
            Assert.That(TestRows.ReadAvailable(deletes).Select(TestRows.IdOf), Is.EqualTo(new long[] { 3 }));
            Assert.That(TestRows.ReadAvailable(anySchemaUsers).Select(TestRows.IdOf), Is.EqualTo(new long[] { 2, 4 }));
            Assert.That(orders.Missed + deletes.Missed + anySchemaUsers.Missed, Is.Zero);
            Assert.That(orders.Lag, Is.Zero, "filtered-out changes are consumed, not left as lag");
        }
    }

    [Test]
    public void SetFilter_MovesSubscriberCountsAndAppliesToUnreadChanges()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader keepWatched = notifier.Subscribe();
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        notifier.Insert("users", 1);
        notifier.Insert("orders", 2);

        reader.SetFilter(ChangeFilter.Create([new TableFilter("public", "users"), new TableFilter("public", "items")]));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.GetSubscriberCount("public", "orders"), Is.EqualTo(1), "only the catch-all reader");
            Assert.That(notifier.GetSubscriberCount("public", "items"), Is.EqualTo(2));
            Assert.That(TestRows.ReadAvailable(reader).Select(TestRows.IdOf), Is.EqualTo(new long[] { 1 }));
        }

        reader.Dispose();
        Assert.That(notifier.GetSubscriberCount("public", "items"), Is.EqualTo(1));
        Assert.That(() => reader.SetFilter(ChangeFilter.All), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void TryRead_FilterNone_ReadsNothingAndWatchesNothing()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.None);

        Assert.That(notifier.Insert(), Is.Zero);
        Assert.That(reader.TryRead(out _), Is.False);
    }

    [Test]
    public void OnLagged_IsCalledWithTheCountBeforeTheReadReturns()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 2);
        var reports = new List<long>();
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { Name = "slow", OnLagged = (r, n) => reports.Add(n) });
        for (int i = 1; i <= 5; i++)
        {
            notifier.Insert(id: i);
        }

        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        Assert.That(reports, Is.EqualTo(new long[] { 3 }));
        Assert.That(change!.Sequence, Is.EqualTo(4));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ReadAllAsync_LagBehaviorThrow_ThrowsWithCountThenResumesWithoutLoss(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 4);
        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { LagBehavior = LagBehavior.Throw });
        for (int i = 1; i <= 10; i++)
        {
            notifier.Insert(id: i);
        }

        notifier.Complete();
        ChangeLaggedException? ex = await Assert.ThrowsAsync<ChangeLaggedException>(async () =>
        {
            await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken))
            {
                Assert.Fail($"no change may be returned before the lag is reported, got {change.Sequence}");
            }
        });
        Assert.That(ex!.Missed, Is.EqualTo(6));
        Assert.That(ex.ResumeSequence, Is.EqualTo(7));

        var rest = new List<long>();
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken))
        {
            rest.Add(change.Sequence);
        }

        Assert.That(rest, Is.EqualTo(new long[] { 7, 8, 9, 10 }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task WaitToReadAsync_CompletesWhenAChangeIsPublished(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        ValueTask<bool> wait = reader.WaitToReadAsync(cancellationToken);
        Assert.That(wait.IsCompleted, Is.False, "nothing published yet");
        notifier.Insert(id: 9);

        Assert.That(await wait, Is.True);
        Assert.That(reader.TryRead(out ChangeEvent? change) && TestRows.IdOf(change) == 9, Is.True);
    }

    [Test]
    public void WaitToReadAsync_WithDataAlreadyThere_CompletesSynchronously()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Insert();

        ValueTask<bool> wait = reader.WaitToReadAsync();

        Assert.That(wait.IsCompletedSuccessfully && wait.Result, Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task WaitToReadAsync_Cancelled_ThrowsAndTheReaderCanWaitAgain(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        using var cts = new CancellationTokenSource();

        ValueTask<bool> wait = reader.WaitToReadAsync(cts.Token);
        await cts.CancelAsync();

        Assert.That(async () => await wait, Throws.InstanceOf<OperationCanceledException>());
        ValueTask<bool> again = reader.WaitToReadAsync(cancellationToken);
        notifier.Insert();
        Assert.That(await again, Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Dispose_WhileWaiting_EndsTheWaitWithFalseAndLeaves(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        ChangeReader reader = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        ValueTask<bool> wait = reader.WaitToReadAsync(cancellationToken);

        reader.Dispose();

        Assert.That(await wait, Is.False, "the pending wait ends with false");
        Assert.That(await reader.WaitToReadAsync(cancellationToken), Is.False, "and so does any later wait");
        Assert.That(notifier.GetSubscriberCount("public", "orders"), Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ReadAllAsync_OnNotifier_CancelledEnumerationLeavesTheSubscription(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var seen = new List<long>();
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Task consumer = Task.Run(async () =>
        {
            await foreach (ChangeEvent change in notifier.ReadAllAsync(new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "orders") }, cts.Token))
            {
                seen.Add(TestRows.IdOf(change));
                firstSeen.TrySetResult();
            }
        }, cancellationToken);

        while (!notifier.IsWatched("public", "orders"))
        {
            await Task.Yield();
        }

        notifier.Insert(id: 1);
        await firstSeen.Task.WaitAsync(cancellationToken);
        await cts.CancelAsync();

        Assert.That(async () => await consumer, Throws.InstanceOf<OperationCanceledException>());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(seen, Is.EqualTo(new long[] { 1 }));
            Assert.That(notifier.SubscriberCount, Is.Zero);
            Assert.That(notifier.IsWatched("public", "orders"), Is.False);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ReadAllAsync_NotifierCompleted_EndsAfterTheLastChange(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Insert(id: 1);
        notifier.Insert(id: 2);
        notifier.Complete();

        var seen = new List<long>();
        await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken))
        {
            seen.Add(TestRows.IdOf(change));
        }

        Assert.That(seen, Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ReadAsync_WaitsForTheNextMatchingChange(CancellationToken cancellationToken)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        using ChangeReader keepUsersWatched = notifier.Subscribe(ChangeFilter.For("public", "users"));

        ValueTask<ChangeEvent> read = reader.ReadAsync(cancellationToken);
        notifier.Insert("users", 1);
        notifier.Insert("orders", 2);

        Assert.That(TestRows.IdOf(await read), Is.EqualTo(2));
    }

    [Test]
    public void Lag_CountsPublishedButUnreadChanges()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Insert();
        notifier.Insert();
        notifier.Insert();

        Assert.That(reader.Lag, Is.EqualTo(3));
        reader.TryRead(out _);
        Assert.That(reader.Lag, Is.EqualTo(2));
        Assert.That(reader.NextSequence, Is.EqualTo(2));
    }

    [Test]
    public void WaitToReadAsync_SteadyState_DoesNotAllocate()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Insert();

        // The synchronous path (data already there) and TryRead allocate nothing.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            ValueTask<bool> wait = reader.WaitToReadAsync();
            if (!wait.IsCompletedSuccessfully || !wait.Result)
            {
                Assert.Fail("the wait must complete synchronously with true");
            }
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
