using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>Each mapping shape gives the rows the database writes, with the columns it holds.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class MappingCaptureTests(Provider provider) : ProviderTestBase(provider)
{
    [Test]
    public void OwnedType_AddedToAnExistingOwner_IsAnUpdateOfTheOwnersRow()
    {
        int id;
        using (ShopDb seed = Shop())
        {
            var order = new Order { Customer = "A" };
            seed.Orders.Add(order);
            seed.SaveChanges();
            id = order.Id;
        }

        Drain();
        using (ShopDb db = Shop())
        {
            db.Orders.Single(o => o.Id == id).Shipping = new Address { Street = "2 Side St", City = "Rome" };
            db.SaveChanges();
        }

        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        Assert.That(changes[0].Kind, Is.EqualTo(ChangeKind.Update));
        JsonObject old = TestDatabase.OldRecord(changes[0]);
        Assert.That(old["Shipping_City"], Is.Null, "the owned columns were NULL before");
        AssertRecordIsRow(changes[0], $"\"Id\" = {id}");
    }

    [Test]
    public void TableSplitting_TwoEntitiesOneRow_IsOneInsertWithEveryColumn()
    {
        using ShopDb db = Shop();
        db.Products.Add(new Product { Id = 1, Name = "Lamp", Details = new ProductDetails { Description = "bright", Stock = 4 } });
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        Assert.That(changes[0].Kind, Is.EqualTo(ChangeKind.Insert));
        AssertRecordIsRow(changes[0], "\"Id\" = 1");

        db.Set<ProductDetails>().Single().Stock = 3; // only the dependent changes: still the shared row's UPDATE
        db.SaveChanges();
        changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(1));
        Assert.That((string)TestDatabase.OldRecord(changes[0])["Name"]!, Is.EqualTo("Lamp"), "the principal's columns are in the old image too");
        AssertRecordIsRow(changes[0], "\"Id\" = 1");
    }

    [Test]
    public void Tph_RecordCarriesTheDiscriminatorAndNullSiblingColumns()
    {
        using ShopDb db = Shop();
        db.Animals.AddRange(new Dog { Name = "Rex", Breed = "Collie" }, new Cat { Name = "Tom", Lives = 9 });
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes, Has.Count.EqualTo(2));
        foreach (ChangeEvent change in changes)
        {
            JsonObject record = TestDatabase.Record(change);
            Assert.That(record.ContainsKey("Discriminator"), Is.True);
            AssertRecordIsRow(change, $"\"Id\" = {(int)record["Id"]!}");
        }

        db.Animals.Remove(db.Animals.OfType<Dog>().Single());
        db.SaveChanges();
        ChangeEvent delete = Drain().Single();
        JsonObject old = TestDatabase.OldRecord(delete);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((string)old["Discriminator"]!, Is.EqualTo("Dog"));
            Assert.That(old.ContainsKey("Lives"), Is.True, "a sibling type's column is NULL in the row");
            Assert.That(old["Lives"], Is.Null);
        }
    }

    [Test]
    public void Tpt_ADerivedEntity_IsARowInEachTable()
    {
        using ShopDb db = Shop();
        db.Vehicles.Add(new Car { Wheels = 4, Seats = 5 });
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes.Select(c => c.Table), Is.EquivalentTo(new[] { "vehicles", "cars" }));
        foreach (ChangeEvent change in changes)
        {
            AssertRecordIsRow(change, $"\"Id\" = {(int)TestDatabase.Record(change)["Id"]!}");
        }

        db.Vehicles.OfType<Car>().Single().Seats = 7; // only the derived table's column
        db.SaveChanges();
        Assert.That(Drain().Select(c => (c.Table, c.Kind)), Is.EqualTo(new[] { ("cars", ChangeKind.Update) }));
    }

    [Test]
    public void Tpc_AConcreteEntity_IsARowOfItsOwnTable()
    {
        using ShopDb db = Shop();
        db.Payments.AddRange(new CardPayment { Id = 1, Amount = 10.5m, Last4 = "4242" }, new CashPayment { Id = 2, Amount = 3m, Till = "T1" });
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes.Select(c => c.Table), Is.EquivalentTo(new[] { "card_payments", "cash_payments" }));
        foreach (ChangeEvent change in changes)
        {
            AssertRecordIsRow(change, $"\"Id\" = {(int)TestDatabase.Record(change)["Id"]!}");
        }
    }

    [Test]
    public void ManyToMany_JoinTableRowsAreInsertedAndDeleted()
    {
        using ShopDb db = Shop();
        var tag = new Tag { Label = "news" };
        var post = new Post { Title = "Hello", Tags = [tag] };
        db.Posts.Add(post);
        db.SaveChanges();
        List<ChangeEvent> changes = Drain();
        Assert.That(changes.Select(c => c.Table), Is.EquivalentTo(new[] { "posts", "tags", "post_tags" }));
        ChangeEvent join = changes.Single(c => c.Table == "post_tags");
        JsonObject record = TestDatabase.Record(join);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)record["PostsId"]!, Is.EqualTo(post.Id), "generated key propagated into the join row");
            Assert.That((int)record["TagsId"]!, Is.EqualTo(tag.Id));
        }

        AssertRecordIsRow(join, $"\"PostsId\" = {post.Id} AND \"TagsId\" = {tag.Id}");
        post.Tags.Clear();
        db.SaveChanges();
        ChangeEvent unlink = Drain().Single();
        Assert.That((unlink.Table, unlink.Kind), Is.EqualTo(("post_tags", ChangeKind.Delete)));
    }

    [Test]
    public void CascadeDelete_OfLoadedDependents_IsPublishedForEachRow()
    {
        using ShopDb db = Shop();
        db.Products.Add(new Product { Id = 5, Name = "Desk", Details = new ProductDetails { Description = "oak", Stock = 1 } });
        db.SaveChanges();
        Drain();
        db.Products.Remove(db.Products.Include(p => p.Details).Single());
        db.SaveChanges();
        ChangeEvent delete = Drain().Single();
        Assert.That(delete.Kind, Is.EqualTo(ChangeKind.Delete), "principal and its table-split dependent are one row");
        Assert.That((string)TestDatabase.OldRecord(delete)["Description"]!, Is.EqualTo("oak"));
    }
}
