namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>When nobody watches a table nothing is built for it: counted by the capture, not timed.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class ZeroCostTests(Provider provider) : ProviderTestBase(provider)
{
    [Test]
    public void NobodyWatching_BuildsNoRowAndPublishesNothing()
    {
        Reader.Dispose(); // the base subscription watched everything
        using ShopDb db = Shop();
        for (int i = 0; i < 10; i++)
        {
            db.Orders.Add(new Order { Customer = $"c{i}" });
            db.SaveChanges();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Capture.SavesCaptured, Is.Zero, "no save looked at the change tracker");
            Assert.That(Capture.RowsBuilt, Is.Zero);
            Assert.That(Notifier.LastSequence, Is.Zero);
        }
    }

    [Test]
    public void AnotherTableWatched_BuildsRowsOnlyForTheWatchedTable()
    {
        Reader.Dispose();
        using ChangeReader tags = Notifier.Subscribe(ChangeFilter.For("public", "tags"));
        using ShopDb db = Shop();
        db.Orders.Add(new Order { Customer = "unwatched" });
        db.Tags.Add(new Tag { Label = "watched" });
        db.SaveChanges();
        List<ChangeEvent> changes = TestDatabase.Drain(tags);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes.Select(c => c.Table), Is.EqualTo(new[] { "tags" }));
            Assert.That(Capture.RowsBuilt, Is.EqualTo(1), "the orders row was never built");
        }
    }

    [Test]
    public void NobodyWatching_AllocatesNothingPerEntity()
    {
        Reader.Dispose();
        // Bytes allocated on this thread (not time): a save of 1 and of 201 entities, capture attached but unwatched vs
        // no capture. Per entity the capture adds nothing; per save only EF's own event data for the interceptor. 200
        // entities between the two sizes spread EF's own run-to-run variation (a few hundred bytes per save) thin enough
        // that one object per entity (24 B at the least) stands out.
        // Measured alternately, twice each, keeping the least: EF's own first-use growth (caches, pools) lands on
        // whichever runs first, by some hundred bytes per entity.
        (long one, long many) with = (long.MaxValue, long.MaxValue), without = (long.MaxValue, long.MaxValue);
        for (int round = 0; round < 2; round++)
        {
            without = (Math.Min(without.one, AllocatedPerSave(() => Db.Shop(null), 1)), Math.Min(without.many, AllocatedPerSave(() => Db.Shop(null), 201)));
            with = (Math.Min(with.one, AllocatedPerSave(() => Shop(), 1)), Math.Min(with.many, AllocatedPerSave(() => Shop(), 201)));
        }

        long perEntityWith = (with.many - with.one) / 200;
        long perEntityWithout = (without.many - without.one) / 200;
        TestContext.Out.WriteLine($"per save of 1: {with.one} B with, {without.one} B without; per entity: {perEntityWith} B with, {perEntityWithout} B without");
        // 16 B: less than the smallest object (24 B on 64-bit).
        Assert.That(perEntityWith, Is.LessThanOrEqualTo(perEntityWithout + 16), "no object allocated per entity");
        Assert.That(with.one - without.one, Is.LessThan(2048), "a bounded cost per save (EF's interception event data)");
    }

    private static long AllocatedPerSave(Func<ShopDb> create, int entities)
    {
        using ShopDb db = create();
        db.Tags.Add(new Tag { Label = "warm-up" });
        db.SaveChanges();
        const int Saves = 20;
        long best = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            Tag[][] batches = [.. Enumerable.Range(0, Saves).Select(s => Enumerable.Range(0, entities).Select(i => new Tag { Label = $"t{s}-{i}" }).ToArray())];
            db.ChangeTracker.Clear();
            long start = GC.GetAllocatedBytesForCurrentThread();
            foreach (Tag[] batch in batches)
            {
                db.Tags.AddRange(batch);
                db.SaveChanges();
                db.ChangeTracker.Clear();
            }

            best = Math.Min(best, (GC.GetAllocatedBytesForCurrentThread() - start) / Saves);
        }

        return best;
    }
}
