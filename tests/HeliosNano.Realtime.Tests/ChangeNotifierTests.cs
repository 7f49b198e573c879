using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.Tests;

public class ChangeNotifierTests
{
    private static readonly ChangeRowWriter<long> s_writeId = static (writer, id, image) =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("id", id);
        writer.WriteString("image", image.ToString());
        writer.WriteEndObject();
    };

    [Test]
    public void Notify_WhenNobodyWatches_ReturnsZeroAndNeverCallsTheRowWriter()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader other = notifier.Subscribe(ChangeFilter.For("public", "users"));
        ChangeTable orders = notifier.GetTable("public", "orders");
        int calls = 0;

        long byHandle = notifier.Notify(orders, ChangeKind.Insert, 1L, (w, s, i) => { calls++; s_writeId(w, s, i); });
        long byName = notifier.Notify("public", "orders", ChangeKind.Update, 1L, (w, s, i) => { calls++; s_writeId(w, s, i); });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(byHandle, Is.Zero);
            Assert.That(byName, Is.Zero);
            Assert.That(calls, Is.Zero, "the row must not be built for an unwatched table");
            Assert.That(notifier.LastSequence, Is.Zero, "nothing may be published");
            Assert.That(orders.IsWatched, Is.False);
        }
    }

    [Test]
    public void Notify_UnwatchedTable_AllocatesNothing()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader other = notifier.Subscribe(ChangeFilter.For("public", "users"));
        ChangeTable orders = notifier.GetTable("public", "orders");
        for (int i = 0; i < 100; i++)
        {
            notifier.Notify(orders, ChangeKind.Insert, 1L, s_writeId);
            notifier.Notify("public", "orders", ChangeKind.Insert, 1L, s_writeId);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            notifier.Notify(orders, ChangeKind.Insert, 1L, s_writeId);
            notifier.Notify("public", "orders", ChangeKind.Insert, 1L, s_writeId);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void Notify_ConsecutiveChanges_GetConsecutiveSequencesInCallOrder()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        long[] sequences = [.. Enumerable.Range(1, 5).Select(i => notifier.Insert(id: i))];

        Assert.That(sequences, Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        for (int i = 1; i <= 5; i++)
        {
            Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
            Assert.That(TestRows.IdOf(change!), Is.EqualTo(i));
        }

        Assert.That(reader.TryRead(out _), Is.False);
    }

    [Test]
    public void Notify_RowWriter_BuildsAfterAndBeforeImagesByKind()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");

        notifier.Notify(orders, ChangeKind.Insert, 1L, s_writeId);
        notifier.Notify(orders, ChangeKind.Update, 2L, s_writeId);
        notifier.Notify(orders, ChangeKind.Delete, 3L, s_writeId);

        ChangeEvent? insert = null, update = null, delete = null;
        Assert.That(reader.TryRead(out insert) && reader.TryRead(out update) && reader.TryRead(out delete), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(insert!.Record.Span), Is.EqualTo("""{"id":1,"image":"New"}"""));
            Assert.That(insert.HasOldRecord, Is.False);
            Assert.That(Encoding.UTF8.GetString(update!.Record.Span), Is.EqualTo("""{"id":2,"image":"New"}"""));
            Assert.That(Encoding.UTF8.GetString(update.OldRecord.Span), Is.EqualTo("""{"id":2,"image":"Old"}"""));
            Assert.That(delete!.HasRecord, Is.False);
            Assert.That(Encoding.UTF8.GetString(delete.OldRecord.Span), Is.EqualTo("""{"id":3,"image":"Old"}"""));
        }
    }

    [Test]
    public void Notify_UpdateWithoutBeforeImage_IsAccepted()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        long sequence = notifier.Notify("public", "orders", ChangeKind.Update, TestRows.Row, []);

        Assert.That(sequence, Is.EqualTo(1));
        Assert.That(reader.TryRead(out ChangeEvent? change) && !change.HasOldRecord, Is.True);
    }

    [TestCase(ChangeKind.Insert, "", "")]
    [TestCase(ChangeKind.Insert, "{\"a\":1}", "{\"a\":1}")]
    [TestCase(ChangeKind.Update, "", "{\"a\":1}")]
    [TestCase(ChangeKind.Delete, "", "")]
    [TestCase(ChangeKind.Delete, "{\"a\":1}", "{\"a\":1}")]
    [TestCase(ChangeKind.Insert, "[1,2]", "")]
    [TestCase(ChangeKind.Insert, "{\"a\":", "")]
    [TestCase(ChangeKind.Insert, "{\"a\":1} {}", "")]
    [TestCase((ChangeKind)3, "{\"a\":1}", "")]
    public void Notify_InvalidImages_ThrowsArgumentExceptionAndPublishesNothing(ChangeKind kind, string record, string oldRecord)
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        Assert.That(
            () => notifier.Notify("public", "orders", kind, Encoding.UTF8.GetBytes(record), Encoding.UTF8.GetBytes(oldRecord)),
            Throws.InstanceOf<ArgumentException>());
        Assert.That(notifier.LastSequence, Is.Zero);
    }

    [Test]
    public void Notify_RowWriterWritesNoObject_ThrowsAndTheNextNotifyStillWorks()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        Assert.That(() => notifier.Notify("public", "orders", ChangeKind.Insert, 0, static (w, _, _) => w.WriteNumberValue(5)), Throws.ArgumentException);
        Assert.That(() => notifier.Notify("public", "orders", ChangeKind.Insert, 0, static (_, _, _) => throw new InvalidOperationException("engine bug")), Throws.InvalidOperationException);
        long sequence = notifier.Notify("public", "orders", ChangeKind.Insert, 7L, s_writeId);

        Assert.That(sequence, Is.EqualTo(1));
        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        Assert.That(Encoding.UTF8.GetString(change!.Record.Span), Is.EqualTo("""{"id":7,"image":"New"}"""));
    }

    [Test]
    public void Notify_TableHandleOfAnotherNotifier_Throws()
    {
        using ChangeNotifier first = TestRows.CreateNotifier();
        using ChangeNotifier second = TestRows.CreateNotifier();
        using ChangeReader reader = second.Subscribe();
        ChangeTable foreign = first.GetTable("public", "orders");
        using ChangeReader firstReader = first.Subscribe();

        Assert.That(() => second.Notify(foreign, ChangeKind.Insert, TestRows.Row, []), Throws.ArgumentException);
    }

    [Test]
    public void GetTable_SameNames_ReturnsTheSameHandle()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();

        ChangeTable first = notifier.GetTable("public", "orders");
        ChangeTable again = notifier.GetTable("public", "orders");
        Assert.That(again, Is.SameAs(first));
        Assert.That(notifier.GetTable("public", "orders"), Is.Not.SameAs(notifier.GetTable("audit", "orders")));
    }

    [Test]
    public void Columns_SetAfterNotify_DoNotChangeAChangeAlreadyCaptured()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");
        orders.SetColumns([new ChangeColumn("id", "int4")]);

        notifier.Notify(orders, ChangeKind.Insert, TestRows.Row, []);
        orders.SetColumns([new ChangeColumn("id", "int4"), new ChangeColumn("customer", "text")]);
        notifier.Notify(orders, ChangeKind.Insert, TestRows.Row, []);

        ChangeEvent? before = null, after = null;
        Assert.That(reader.TryRead(out before) && reader.TryRead(out after), Is.True);
        Assert.That(before!.Columns, Is.EqualTo(new[] { new ChangeColumn("id", "int4") }));
        Assert.That(after!.Columns, Has.Count.EqualTo(2));
    }

    [Test]
    public void IsWatched_FollowsSubscriptionsIncludingWildcards()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        ChangeTable orders = notifier.GetTable("public", "orders");
        Assert.That(orders.IsWatched, Is.False);

        ChangeReader exact = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        Assert.That(orders.IsWatched && notifier.IsWatched("public", "orders") && !notifier.IsWatched("public", "users"), Is.True);
        exact.Dispose();
        Assert.That(orders.IsWatched, Is.False, "the table drops out when its count reaches zero");

        ChangeReader schema = notifier.Subscribe(ChangeFilter.For("public", "*"));
        Assert.That(notifier.IsWatched("public", "users") && !notifier.IsWatched("audit", "users"), Is.True);
        schema.Dispose();

        ChangeReader all = notifier.Subscribe(ChangeFilter.All);
        Assert.That(notifier.IsWatched("audit", "log") && orders.IsWatched, Is.True);
        all.Dispose();
        Assert.That(notifier.IsWatched("audit", "log") || orders.IsWatched, Is.False);
    }

    [Test]
    public void SubscriberCounts_RiseAndFallPerTable()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        ChangeReader a = notifier.Subscribe(ChangeFilter.For("public", "orders"));
        ChangeReader b = notifier.Subscribe(ChangeFilter.For("public", "orders", ChangeKinds.Delete));
        ChangeReader c = notifier.Subscribe(ChangeFilter.For("public", "*"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.GetSubscriberCount("public", "orders"), Is.EqualTo(3));
            Assert.That(notifier.GetSubscriberCount("public", "users"), Is.EqualTo(1));
            Assert.That(notifier.GetTable("public", "orders").SubscriberCount, Is.EqualTo(3));
            Assert.That(notifier.SubscriberCount, Is.EqualTo(3));
        }

        a.Dispose();
        b.Dispose();
        b.Dispose(); // idempotent
        c.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notifier.GetSubscriberCount("public", "orders"), Is.Zero);
            Assert.That(notifier.SubscriberCount, Is.Zero);
        }
    }

    [Test]
    public void Constructor_CapacityNotAPowerOfTwo_Throws()
    {
        Assert.That(() => new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1000 }), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1 }), Throws.InstanceOf<ArgumentOutOfRangeException>());
        using var notifier = new ChangeNotifier();
        Assert.That(notifier.Capacity, Is.EqualTo(1024));
    }

    [Test]
    public void Notify_WithoutTimestamp_UsesTheTimeProvider()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 4, 26, 10, 1, 23, 456, TimeSpan.FromHours(2)));
        using ChangeNotifier notifier = TestRows.CreateNotifier(timeProvider: time);
        using ChangeReader reader = notifier.Subscribe();

        notifier.Insert();

        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        Assert.That(change!.CommitTimestamp, Is.EqualTo(new DateTimeOffset(2026, 4, 26, 8, 1, 23, 456, TimeSpan.Zero)));
        Assert.That(change.CommitTimestamp.Offset, Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Complete_StopsPublishingAndRefusesNewSubscriptions()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();

        notifier.Complete();

        Assert.That(notifier.Insert(), Is.Zero);
        Assert.That(notifier.IsCompleted, Is.True);
        Assert.That(() => notifier.Subscribe(), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void Metrics_CountPublishedSkippedLaggedAndSubscribers()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory meters = services.GetRequiredService<IMeterFactory>();
        using var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 4 }, meterFactory: meters);
        using var published = new MetricCollector<long>(meters, RealtimeMetrics.MeterName, "heliosnano.realtime.changes.published");
        using var skipped = new MetricCollector<long>(meters, RealtimeMetrics.MeterName, "heliosnano.realtime.changes.skipped");
        using var lagged = new MetricCollector<long>(meters, RealtimeMetrics.MeterName, "heliosnano.realtime.changes.lagged");
        using var subscribers = new MetricCollector<long>(meters, RealtimeMetrics.MeterName, "heliosnano.realtime.subscribers");

        notifier.Insert(); // nobody watches
        ChangeReader reader = notifier.Subscribe();
        for (int i = 0; i < 10; i++)
        {
            notifier.Insert(id: i);
        }

        reader.TryRead(out _);
        reader.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(published.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(10));
            Assert.That(skipped.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(1));
            Assert.That(lagged.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(6));
            Assert.That(subscribers.GetMeasurementSnapshot().Select(m => m.Value), Is.EqualTo(new long[] { 1, -1 }));
            Assert.That(notifier.TotalMissed, Is.EqualTo(6));
        }
    }

    private static readonly string[] s_expectedTables = ["public.orders", "public.users"];

    [Test]
    public void Tables_ListsEveryHandle()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        notifier.GetTable("public", "orders");
        notifier.GetTable("public", "users");

        Assert.That(notifier.Tables.Select(t => t.ToString()), Is.EquivalentTo(s_expectedTables));
    }

    [Test]
    public void ChangeEvent_FromSpanOverload_KeepsTheImagesByteForByte()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        byte[] record = Encoding.UTF8.GetBytes("""{ "id" : 1, "note": "spaces kept" }""");

        notifier.Notify("public", "orders", ChangeKind.Insert, record, []);

        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        Assert.That(change!.Record.ToArray(), Is.EqualTo(record));
        using JsonDocument parsed = change.ParseRecord()!;
        Assert.That(parsed.RootElement.GetProperty("note").GetString(), Is.EqualTo("spaces kept"));
        Assert.That(change.ParseOldRecord(), Is.Null);
    }
}
