using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Tests;

public class ChangeEventTests
{
    private static readonly DateTimeOffset s_commit = new(2026, 4, 26, 10, 1, 23, TimeSpan.Zero);

    [Test]
    public void GetUtf8Json_Insert_HasTheSupabaseDataShapeWithExplicitNulls()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");
        orders.SetColumns([new ChangeColumn("id", "int4"), new ChangeColumn("customer", "text")]);
        notifier.Notify(orders, ChangeKind.Insert, TestRows.Row, [], s_commit);

        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        string json = Encoding.UTF8.GetString(change!.GetUtf8Json().Span);

        Assert.That(json, Is.EqualTo(
            """{"schema":"public","table":"orders","commit_timestamp":"2026-04-26T10:01:23.000Z","type":"INSERT","columns":[{"name":"id","type":"int4"},{"name":"customer","type":"text"}],"errors":null,"record":{"id":1,"customer":"Alice"},"old_record":null}"""));
    }

    [Test]
    public void GetUtf8Json_UpdateAndDelete_CarryTheImagesTheKindHas()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Notify("public", "orders", ChangeKind.Update, TestRows.RowWithId(2), TestRows.RowWithId(1), s_commit);
        notifier.Notify("public", "orders", ChangeKind.Delete, [], TestRows.RowWithId(2), s_commit);

        ChangeEvent? update = null, delete = null;
        Assert.That(reader.TryRead(out update) && reader.TryRead(out delete), Is.True);
        using JsonDocument u = JsonDocument.Parse(update!.GetUtf8Json());
        using JsonDocument d = JsonDocument.Parse(delete!.GetUtf8Json());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(u.RootElement.GetProperty("type").GetString(), Is.EqualTo("UPDATE"));
            Assert.That(u.RootElement.GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(2));
            Assert.That(u.RootElement.GetProperty("old_record").GetProperty("id").GetInt32(), Is.EqualTo(1));
            Assert.That(d.RootElement.GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(d.RootElement.GetProperty("record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(d.RootElement.GetProperty("old_record").GetProperty("id").GetInt32(), Is.EqualTo(2));
            Assert.That(d.RootElement.GetProperty("columns").GetArrayLength(), Is.Zero, "columns are always present");
        }
    }

    [Test]
    public void GetUtf8Json_CalledManyTimes_BuildsOnceAndSharesTheBytes()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader first = notifier.Subscribe();
        using ChangeReader second = notifier.Subscribe();
        notifier.Insert();

        ChangeEvent? a = null, b = null;
        Assert.That(first.TryRead(out a) && second.TryRead(out b), Is.True);
        Assert.That(a, Is.SameAs(b), "every reader gets the same immutable event");
        ReadOnlyMemory<byte> one = a!.GetUtf8Json();
        ReadOnlyMemory<byte> two = b!.GetUtf8Json();
        Assert.That(one.Span == two.Span, Is.True, "the same array, not a copy");
    }

    [Test]
    public void Properties_DescribeTheChange()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.Notify("public", "orders", ChangeKind.Update, TestRows.Row, [], s_commit);

        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(change!.Sequence, Is.EqualTo(1));
            Assert.That(change.Kind, Is.EqualTo(ChangeKind.Update));
            Assert.That(change.Schema, Is.EqualTo("public"));
            Assert.That(change.Table, Is.EqualTo("orders"));
            Assert.That(change.CommitTimestamp, Is.EqualTo(s_commit));
            Assert.That(change.HasRecord && !change.HasOldRecord, Is.True);
            Assert.That(change.ToString(), Is.EqualTo("#1 Update public.orders"));
        }
    }
}
