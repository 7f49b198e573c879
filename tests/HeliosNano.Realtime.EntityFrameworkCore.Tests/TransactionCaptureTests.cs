using System.Transactions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>Changes are published only after their commit, once, and never when the transaction does not commit.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class TransactionCaptureTests(Provider provider) : ProviderTestBase(provider)
{
    private static Order NewOrder(string customer) => new() { Customer = customer, Total = 1m, Quantity = 1 };

    private List<string> Customers() => [.. Drain().Select(c => (string)TestDatabase.Record(c)["Customer"]!)];

    [Test]
    public async Task BeginTransaction_PublishesOnCommitOnly()
    {
        using ShopDb db = Shop();
        await using (IDbContextTransaction transaction = await db.Database.BeginTransactionAsync())
        {
            db.Orders.Add(NewOrder("A"));
            await db.SaveChangesAsync();
            db.Orders.Add(NewOrder("B"));
            await db.SaveChangesAsync();
            Assert.That(Drain(), Is.Empty, "saved but not committed");
            await transaction.CommitAsync();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "A", "B" }));
    }

    [Test]
    public void BeginTransaction_RolledBack_PublishesNothing()
    {
        using ShopDb db = Shop();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("A"));
            db.SaveChanges();
            transaction.Rollback();
        }

        Assert.That(Drain(), Is.Empty);
        Assert.That(Db.ReadRow("orders", "1 = 1", []), Is.Null, "the row is not there");
    }

    [Test]
    public void BeginTransaction_DisposedWithoutCommit_PublishesNothing_AndTheNextCommitOnlyItsOwn()
    {
        using ShopDb db = Shop();
        using (db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("lost"));
            db.SaveChanges();
        } // disposed: rolled back, and EF raises no interceptor callback

        Assert.That(Drain(), Is.Empty);
        db.ChangeTracker.Clear();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("kept"));
            db.SaveChanges();
            transaction.Commit();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "kept" }));
    }

    [Test]
    public void Savepoint_RollbackTo_DropsOnlyTheChangesSavedAfterIt()
    {
        using ShopDb db = Shop();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("before"));
            db.SaveChanges();
            transaction.CreateSavepoint("sp");
            db.Orders.Add(NewOrder("undone"));
            db.SaveChanges();
            transaction.RollbackToSavepoint("sp");
            db.ChangeTracker.Clear();
            db.Orders.Add(NewOrder("after"));
            db.SaveChanges();
            transaction.Commit();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "before", "after" }));
        Assert.That(Db.ReadRow("orders", "\"Customer\" = 'undone'", []), Is.Null);
    }

    [Test]
    public void Savepoint_Released_KeepsItsChanges()
    {
        using ShopDb db = Shop();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            transaction.CreateSavepoint("sp");
            db.Orders.Add(NewOrder("inside"));
            db.SaveChanges();
            transaction.ReleaseSavepoint("sp");
            transaction.Commit();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "inside" }));
    }

    [Test]
    public void FailedSave_InsideATransaction_DropsOnlyThatSave()
    {
        using ShopDb db = Shop();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("first"));
            db.SaveChanges();
            db.Products.Add(new Product { Id = 7, Name = "x" });
            db.SaveChanges();
            db.ChangeTracker.Clear();
            db.Products.Add(new Product { Id = 7, Name = "duplicate key" });
            Assert.Throws<DbUpdateException>(() => db.SaveChanges()); // EF rolls back to its own savepoint
            db.ChangeTracker.Clear();
            transaction.Commit();
        }

        List<ChangeEvent> changes = Drain();
        Assert.That(changes.Select(c => c.Table), Is.EqualTo(new[] { "orders", "products" }));
    }

    [Test]
    public void ExecutionStrategyRetry_OfAnImplicitSave_PublishesOnce()
    {
        var failOnce = new FailNextCommand(CommandSource.SaveChanges);
        using ShopDb db = Shop(before: [failOnce], retry: true);
        db.Orders.Add(NewOrder("retried"));
        db.SaveChanges();
        Assert.That(failOnce.Remaining, Is.Zero, "the first attempt failed");
        Assert.That(Customers(), Is.EqualTo(new[] { "retried" }));
        Assert.That(Db.ReadRow("orders", "1 = 1", []), Is.Not.Null);
    }

    [Test]
    public void ExecutionStrategyRetry_OfAUserTransaction_PublishesOnlyTheCommittedAttempt()
    {
        var failOnce = new FailNextCommand(CommandSource.ExecuteSqlRaw);
        using ShopDb db = Shop(before: [failOnce], retry: true);
        int attempts = 0;
        db.Database.CreateExecutionStrategy().Execute(() =>
        {
            attempts++;
            db.ChangeTracker.Clear();
            using IDbContextTransaction transaction = db.Database.BeginTransaction();
            db.Orders.Add(NewOrder($"attempt {attempts}"));
            db.SaveChanges();
            db.Database.ExecuteSql($"SELECT 1"); // fails on the first attempt, after the save
            transaction.Commit();
        });

        Assert.That(attempts, Is.EqualTo(2));
        Assert.That(Customers(), Is.EqualTo(new[] { "attempt 2" }));
    }

    [Test]
    public void ConcurrencyFailure_PublishesNothing()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            Order order = NewOrder("v1");
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        Drain();
        using ShopDb db = Shop();
        Order tracked = db.Orders.Single(o => o.Id == id);
        Db.Execute($"UPDATE \"orders\" SET \"Version\" = 42 WHERE \"Id\" = {id}"); // another writer got there first
        tracked.Customer = "v2";
        Assert.Throws<DbUpdateConcurrencyException>(() => db.SaveChanges());
        Assert.That(Drain(), Is.Empty);

        // and the context's next save publishes only itself
        db.ChangeTracker.Clear();
        db.Orders.Add(NewOrder("next"));
        db.SaveChanges();
        Assert.That(Customers(), Is.EqualTo(new[] { "next" }));
    }

    [Test]
    public void ConcurrencyFailure_InsideATransaction_PublishesOnlyTheOtherSaves()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            Order order = NewOrder("v1");
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        Drain();
        using ShopDb db = Shop();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Orders.Add(NewOrder("kept"));
            db.SaveChanges();
            Order stale = db.Orders.AsNoTracking().Single(o => o.Id == id);
            stale.Version = 41;
            db.Orders.Attach(stale).Property(o => o.Customer).IsModified = true;
            Assert.Throws<DbUpdateConcurrencyException>(() => db.SaveChanges());
            db.ChangeTracker.Clear();
            transaction.Commit();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "kept" }));
    }

    [Test]
    public void TransactionScope_PublishesOnlyWhenTheDatabaseCommits()
    {
        using ShopDb db = Shop();
        if (Provider == Provider.Sqlite)
        {
            // SQLite cannot enlist: EF refuses the save (AmbientTransactionWarning is an error by default), nothing is written or published.
            using (new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled))
            {
                db.Orders.Add(NewOrder("refused"));
                Assert.Throws<InvalidOperationException>(() => db.SaveChanges());
            }

            Assert.That(Drain(), Is.Empty);
            Assert.That(Db.ReadRow("orders", "1 = 1", []), Is.Null);
            return;
        }

        using (new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled))
        {
            db.Orders.Add(NewOrder("not completed"));
            db.SaveChanges();
        } // disposed without Complete()

        db.ChangeTracker.Clear();

        Assert.That(Drain(), Is.Empty, "Npgsql enlisted: the scope rolled back");
        Assert.That(Db.ReadRow("orders", "1 = 1", []), Is.Null);
        using (var scope = new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled))
        {
            db.Orders.Add(NewOrder("completed"));
            db.SaveChanges();
            Assert.That(Drain(), Is.Empty, "not before the scope commits");
            scope.Complete();
        }

        Assert.That(Customers(), Is.EqualTo(new[] { "completed" }));
    }
}
