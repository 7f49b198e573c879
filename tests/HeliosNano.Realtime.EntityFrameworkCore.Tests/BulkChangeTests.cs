using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>ExecuteUpdate/ExecuteDelete bypass the change tracker: not seen by default, reported as "table changed" on opt-in.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class BulkChangeTests(Provider provider) : ProviderTestBase(provider)
{
    private void Seed()
    {
        using ShopDb db = Shop();
        db.Orders.AddRange(new Order { Customer = "a" }, new Order { Customer = "b" });
        db.SaveChanges();
        Drain();
    }

    [Test]
    public void ExecuteUpdate_ByDefault_IsNotSeen()
    {
        Seed();
        using ShopDb db = Shop();
        Assert.That(db.Orders.ExecuteUpdate(s => s.SetProperty(o => o.Paid, true)), Is.EqualTo(2));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Drain(), Is.Empty);
            Assert.That(Reader.Missed, Is.Zero);
        }
    }

    [Test]
    public void RawSql_WithReportBulkChanges_IsLoggedOnceAsNotCaptured()
    {
        var logs = new ListLoggerFactory();
        Seed();
        using ShopDb db = Shop(o =>
        {
            o.ReportBulkChanges = true;
            o.LoggerFactory = logs;
        });
        db.Database.ExecuteSql($"UPDATE \"orders\" SET \"Paid\" = TRUE");
        db.Database.ExecuteSql($"UPDATE \"orders\" SET \"Paid\" = FALSE");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Drain(), Is.Empty);
            Assert.That(Reader.Missed, Is.Zero);
            Assert.That(logs.Entries.Count(e => e.EventName == "UncapturedWrite"), Is.EqualTo(1));
        }
    }

    [Test]
    public void ExecuteUpdateAndDelete_WithReportBulkChanges_AreOneLostChangeEachOfTheirTable()
    {
        Seed();
        var lags = new List<long>();
        using ChangeReader orders = Notifier.Subscribe(new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "orders"), OnLagged = (_, n) => lags.Add(n) });
        using ShopDb db = Shop(o => o.ReportBulkChanges = true);
        Assert.That(db.Orders.ExecuteUpdate(s => s.SetProperty(o => o.Paid, true)), Is.EqualTo(2));
        Assert.That(db.Orders.Where(o => o.Customer == "a").ExecuteDelete(), Is.EqualTo(1));
        Assert.That(db.Orders.Where(o => o.Customer == "nobody").ExecuteDelete(), Is.Zero, "no row: nothing to report");
        Assert.That(TestDatabase.Drain(orders), Is.Empty, "no row images: a bulk statement's rows are unknown");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(orders.Missed, Is.EqualTo(2));
            Assert.That(lags.Sum(), Is.EqualTo(2), "the lag callback reports both");
        }
    }

    [Test]
    public void ExecuteDelete_InsideATransaction_IsReportedOnlyOnCommit()
    {
        Seed();
        using ChangeReader orders = Notifier.Subscribe(ChangeFilter.For("public", "orders"));
        using ShopDb db = Shop(o => o.ReportBulkChanges = true);
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.ExecuteDelete();
            transaction.Rollback();
        }

        Assert.That(orders.TryRead(out _), Is.False);
        Assert.That(orders.Missed, Is.Zero, "rolled back: nothing to report");
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.ExecuteDelete();
            Assert.That(orders.TryRead(out _), Is.False);
            Assert.That(orders.Missed, Is.Zero, "not before the commit");
            transaction.Commit();
        }

        Assert.That(orders.TryRead(out _), Is.False);
        Assert.That(orders.Missed, Is.EqualTo(1));
    }
}
