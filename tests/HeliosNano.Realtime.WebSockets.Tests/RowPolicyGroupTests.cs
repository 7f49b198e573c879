using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace HeliosNano.Realtime.WebSockets.Tests;

public sealed class RowPolicyGroupTests
{
    private static RowPolicyRegistry Registry(params RealtimeRowPolicy[] policies)
    {
        var options = new RealtimeAuthOptions();
        foreach (RealtimeRowPolicy policy in policies)
        {
            options.RowPolicies.Add(policy);
        }

        return new RowPolicyRegistry(options, NullLogger.Instance);
    }

    private static ClaimsPrincipal User(string tenant, string role = "authenticated") =>
        new(new ClaimsIdentity([new Claim("tenant_id", tenant), new Claim("role", role), new Claim("sub", "u-" + tenant)], "test"));

    private static ChangeNotifier Notifier()
    {
        var notifier = new ChangeNotifier();
        notifier.GetTable("public", "orders").SetColumns([new ChangeColumn("id", "int4"), new ChangeColumn("tenant", "text")]);
        return notifier;
    }

    private static ChangeEvent Publish(ChangeNotifier notifier, ChangeReader reader, ChangeKind kind, string? record, string? old = null)
    {
        notifier.Notify("public", "orders", kind, record is null ? [] : Encoding.UTF8.GetBytes(record), old is null ? [] : Encoding.UTF8.GetBytes(old));
        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        return change!;
    }

    private static readonly RealtimeRowPolicy s_tenant = RealtimeRowPolicy.ColumnEqualsClaim("tenant", "public", "orders", "tenant", "tenant_id");

    [Test]
    public void Acquire_EqualClaimValues_ShareOneGroup_OtherValuesGetTheirOwn()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        RowPolicyGroup a1 = registry.Acquire("public", "orders", User("a"))!;
        RowPolicyGroup a2 = registry.Acquire("public", "orders", User("a"))!;
        RowPolicyGroup b = registry.Acquire("public", "orders", User("b"))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a2, Is.SameAs(a1));
            Assert.That(b, Is.Not.SameAs(a1));
            Assert.That(registry.GroupCount, Is.EqualTo(2));
            Assert.That(registry.Acquire("public", "todos", User("a")), Is.Null, "no policy: no group");
        }

        registry.Release(a1);
        registry.Release(a2);
        Assert.That(registry.GroupCount, Is.EqualTo(1), "a group with no channel left is dropped");
    }

    [Test]
    public void Bypasses_ServiceRole()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        Assert.That((registry.Bypasses(User("a", "service_role")), registry.Bypasses(User("a"))), Is.EqualTo((true, false)));
    }

    [Test]
    public void Evaluate_SameChangeForEveryChannelOfAGroup_EvaluatesOnce()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        RowPolicyGroup group = registry.Acquire("public", "orders", User("a"))!;
        Assert.That(registry.Acquire("public", "orders", User("a")), Is.SameAs(group));
        ChangeEvent change = Publish(notifier, reader, ChangeKind.Insert, """{"id":1,"tenant":"a"}""");

        for (int i = 0; i < 100; i++)
        {
            Assert.That(group.Evaluate(change, out _), Is.EqualTo(RowVisibility.Visible));
        }

        Assert.That(registry.Evaluations, Is.EqualTo(1));
    }

    [Test]
    public void Evaluate_ChannelsAWholeRingApart_StillEvaluateEachChangeOnce()
    {
        // Under load a group's connections read the ring at different points: the leader may be a full ring ahead of
        // the last one (any further and that one has lagged). The outcomes must outlast that spread.
        RowPolicyRegistry registry = Registry(s_tenant);
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        RowPolicyGroup group = registry.Acquire("public", "orders", User("a"))!;
        registry.Acquire("public", "orders", User("a"));
        var changes = new List<ChangeEvent>();
        for (int i = 0; i < notifier.Capacity; i++)
        {
            changes.Add(Publish(notifier, reader, ChangeKind.Insert, $$"""{"id":{{i}},"tenant":"{{(i % 3 == 0 ? "a" : "b")}}"}"""));
        }

        int leader = changes.Count(c => group.Evaluate(c, out _) == RowVisibility.Visible);
        int last = changes.Count(c => group.Evaluate(c, out _) == RowVisibility.Visible);
        Assert.That((leader, last, registry.Evaluations), Is.EqualTo((342, 342, (long)notifier.Capacity)));
    }

    [Test]
    public void Evaluate_RowThatMovesOut_GivesEveryChannelOfTheGroupTheSameDelete()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        RowPolicyGroup group = registry.Acquire("public", "orders", User("a"))!;
        registry.Acquire("public", "orders", User("a"));
        ChangeEvent move = Publish(notifier, reader, ChangeKind.Update, """{"id":1,"tenant":"b"}""", """{"id":1,"tenant":"a"}""");

        RowVisibility one = group.Evaluate(move, out ReadOnlyMemory<byte> dataOne);
        RowVisibility two = group.Evaluate(move, out ReadOnlyMemory<byte> dataTwo);
        using JsonDocument parsed = JsonDocument.Parse(dataTwo);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((one, two), Is.EqualTo((RowVisibility.AsDelete, RowVisibility.AsDelete)));
            Assert.That(dataTwo.ToArray(), Is.EqualTo(dataOne.ToArray()));
            Assert.That(parsed.RootElement.GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(registry.Evaluations, Is.EqualTo(2), "one evaluation of each image, for both channels");
        }
    }

    [Test]
    public void Evaluate_UpdateThatMovesTheRow_IsADeleteForTheOldGroupAndAnInsertForTheNew()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeEvent move = Publish(notifier, reader, ChangeKind.Update, """{"id":1,"tenant":"b"}""", """{"id":1,"tenant":"a"}""");

        RowVisibility forA = registry.Acquire("public", "orders", User("a"))!.Evaluate(move, out ReadOnlyMemory<byte> dataA);
        RowVisibility forB = registry.Acquire("public", "orders", User("b"))!.Evaluate(move, out ReadOnlyMemory<byte> dataB);
        RowVisibility forC = registry.Acquire("public", "orders", User("c"))!.Evaluate(move, out _);
        using JsonDocument a = JsonDocument.Parse(dataA);
        using JsonDocument b = JsonDocument.Parse(dataB);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((forA, forB, forC), Is.EqualTo((RowVisibility.AsDelete, RowVisibility.AsInsert, RowVisibility.Hidden)));
            Assert.That(a.RootElement.GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(a.RootElement.GetProperty("record").ValueKind, Is.EqualTo(JsonValueKind.Null), "the new tenant's image never reaches the old tenant");
            Assert.That(a.RootElement.GetProperty("old_record").GetProperty("tenant").GetString(), Is.EqualTo("a"));
            Assert.That(b.RootElement.GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(b.RootElement.GetProperty("old_record").ValueKind, Is.EqualTo(JsonValueKind.Null), "the old tenant's image never reaches the new tenant");
            Assert.That(b.RootElement.GetProperty("record").GetProperty("tenant").GetString(), Is.EqualTo("b"));
            Assert.That(b.RootElement.GetProperty("table").GetString(), Is.EqualTo("orders"));
        }
    }

    [Test]
    public void Evaluate_DeleteIsCheckedAgainstTheOldImage()
    {
        RowPolicyRegistry registry = Registry(s_tenant);
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeEvent delete = Publish(notifier, reader, ChangeKind.Delete, null, """{"id":1,"tenant":"a"}""");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.Acquire("public", "orders", User("a"))!.Evaluate(delete, out _), Is.EqualTo(RowVisibility.Visible));
            Assert.That(registry.Acquire("public", "orders", User("b"))!.Evaluate(delete, out _), Is.EqualTo(RowVisibility.Hidden));
        }
    }

    [Test]
    public void Evaluate_RuleThrowsForOneGroup_OnlyThatGroupFails()
    {
        RowPolicyRegistry registry = Registry(RealtimeRowPolicy.Create("boom", "public", "orders", ["tenant_id"], c =>
            c.GetClaim("tenant_id") == "bad" ? throw new InvalidOperationException("policy bug") : c.ColumnEquals("tenant", c.GetClaim("tenant_id"))));
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeEvent change = Publish(notifier, reader, ChangeKind.Insert, """{"id":1,"tenant":"a"}""");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.Acquire("public", "orders", User("bad"))!.Evaluate(change, out _), Is.EqualTo(RowVisibility.Failed));
            Assert.That(registry.Acquire("public", "orders", User("a"))!.Evaluate(change, out _), Is.EqualTo(RowVisibility.Visible));
        }
    }

    [Test]
    public void Evaluate_PermissivePolicies_CombineWithOr()
    {
        RowPolicyRegistry registry = Registry(s_tenant, RealtimeRowPolicy.ColumnEqualsClaim("owner", "public", "orders", "owner", "sub"));
        using ChangeNotifier notifier = Notifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeEvent change = Publish(notifier, reader, ChangeKind.Insert, """{"id":1,"tenant":"x","owner":"u-a"}""");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.Acquire("public", "orders", User("a"))!.Evaluate(change, out _), Is.EqualTo(RowVisibility.Visible), "owner matches");
            Assert.That(registry.Acquire("public", "orders", User("b"))!.Evaluate(change, out _), Is.EqualTo(RowVisibility.Hidden));
        }
    }
}
