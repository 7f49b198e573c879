using System.Text.Json.Nodes;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>INSERT, UPDATE and DELETE through SaveChanges: the images are the rows as the database holds them.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class SaveChangesCaptureTests(Provider provider) : ProviderTestBase(provider)
{
    private static Order NewOrder(string customer = "Alice") => new()
    {
        Customer = customer,
        Total = 12.5m,
        Quantity = 3,
        Paid = false,
        Status = OrderStatus.Pending,
        Attachment = [1, 2, 255],
        Weight = 1.25,
        Shipping = new Address { Street = "1 Main St", City = "Oslo" },
    };

    [Test]
    public async Task Insert_PublishesAfterImageWithGeneratedIdAndComputedColumn_EqualToTheRow()
    {
        using ShopDb db = Shop();
        Order order = NewOrder();
        db.Orders.Add(order);
        db.Entry(order).Property("Note").CurrentValue = "shadow!";
        await db.SaveChangesAsync();

        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        ChangeEvent insert = changes[0];
        JsonObject record = TestDatabase.Record(insert);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(insert.Kind, Is.EqualTo(ChangeKind.Insert));
            Assert.That(insert.Schema, Is.EqualTo("public"));
            Assert.That(insert.Table, Is.EqualTo("orders"));
            Assert.That(insert.HasOldRecord, Is.False);
            Assert.That(order.Id, Is.GreaterThan(0));
            Assert.That((int)record["Id"]!, Is.EqualTo(order.Id), "the generated id, not EF's temporary one");
            Assert.That((int)record["Doubled"]!, Is.EqualTo(6), "computed by the database");
            Assert.That((string)record["Note"]!, Is.EqualTo("shadow!"), "shadow property");
            Assert.That((string)record["Status"]!, Is.EqualTo("Pending"), "after the enum-to-string converter");
            Assert.That((string)record["Shipping_City"]!, Is.EqualTo("Oslo"), "owned type, table-split into the owner's row");
        }

        AssertRecordIsRow(insert, $"\"Id\" = {order.Id}");
    }

    [Test]
    public void Update_PublishesOldAndNewImages_EqualToTheRowBeforeAndAfter()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            Order order = NewOrder();
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        JsonObject before = Db.ReadRow("orders", $"\"Id\" = {id}", Notifier.GetTable("public", "orders").Columns)!;
        Drain();
        using (ShopDb db = Shop())
        {
            Order order = db.Orders.Single(o => o.Id == id);
            order.Status = OrderStatus.Paid;
            order.Paid = true;
            order.Quantity = 5;
            order.Total = 99.99m;
            order.Shipping!.City = "Bergen";
            db.SaveChanges();
        }

        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1), "owner and owned entry are one row: one UPDATE");
        ChangeEvent update = changes[0];
        Assert.That(update.Kind, Is.EqualTo(ChangeKind.Update));
        TestDatabase.AssertSameJson(TestDatabase.OldRecord(update), before, "old_record vs the row read before the update");
        AssertRecordIsRow(update, $"\"Id\" = {id}");
        Assert.That((int)TestDatabase.Record(update)["Doubled"]!, Is.EqualTo(10), "the recomputed column is read back");
    }

    [Test]
    public void Delete_PublishesTheOldImage_EqualToTheRowBeforeTheDelete()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            Order order = NewOrder();
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        JsonObject before = Db.ReadRow("orders", $"\"Id\" = {id}", Notifier.GetTable("public", "orders").Columns)!;
        Drain();
        using (ShopDb db = Shop())
        {
            db.Orders.Remove(db.Orders.Single(o => o.Id == id));
            db.SaveChanges();
        }

        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes[0].Kind, Is.EqualTo(ChangeKind.Delete));
            Assert.That(changes[0].HasRecord, Is.False);
        }

        TestDatabase.AssertSameJson(TestDatabase.OldRecord(changes[0]), before, "old_record vs the deleted row");
        Assert.That(Db.ReadRow("orders", $"\"Id\" = {id}", changes[0].Columns), Is.Null);
    }

    [Test]
    public void Update_OfADetachedEntity_SendsTheKeyOnlyAsOldRecord()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            Order order = NewOrder();
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        Drain();
        using (ShopDb db = Shop())
        {
            Order detached = NewOrder("Bob");
            detached.Id = id;
            detached.Shipping = null;
            db.Orders.Update(detached); // originals = the new values: the tracker does not know the old row
            db.SaveChanges();
        }

        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        JsonObject old = TestDatabase.OldRecord(changes[0]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)old["Id"]!, Is.EqualTo(id));
            Assert.That(old.ContainsKey("Customer"), Is.False, "no invented old values");
            Assert.That((string)TestDatabase.Record(changes[0])["Customer"]!, Is.EqualTo("Bob"));
        }
    }

    [Test]
    public void SaveChanges_OfSeveralEntities_PublishesOneChangePerRowInSaveOrder()
    {
        using ShopDb db = Shop();
        db.Orders.AddRange(NewOrder("A"), NewOrder("B"), NewOrder("C"));
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes.Select(c => (string)TestDatabase.Record(c)["Customer"]!), Is.EquivalentTo(new[] { "A", "B", "C" }));
        Assert.That(changes.Select(c => c.Sequence), Is.Ordered.Ascending);
    }

    [Test]
    public void SaveChanges_WithAcceptAllChangesFalse_StillPublishesGeneratedIds()
    {
        using ShopDb db = Shop();
        Order order = NewOrder();
        db.Orders.Add(order);
        db.SaveChanges(acceptAllChangesOnSuccess: false);
        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        int id = (int)TestDatabase.Record(changes[0])["Id"]!;
        Assert.That(id, Is.EqualTo(db.Entry(order).Property(o => o.Id).CurrentValue).And.GreaterThan(0));
        AssertRecordIsRow(changes[0], $"\"Id\" = {id}");
    }
}
