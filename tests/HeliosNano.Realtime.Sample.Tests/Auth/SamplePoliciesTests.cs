using System.Security.Claims;
using HeliosNano.Realtime.Sample.Auth;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.Sample.Tests.Auth;

public class SamplePoliciesTests
{
    private static ClaimsPrincipal User(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "test"));

    [TestCase("CREATE POLICY own ON orders FOR SELECT USING (customer = auth.uid());")]
    [TestCase("create policy \"own orders\" on public.orders for select to authenticated using ( (select auth.uid()) = customer )")]
    [TestCase("CREATE POLICY own ON orders FOR SELECT USING (customer = auth.jwt() ->> 'sub')")]
    public void TryApply_SupportedForms_RestrictReadsToTheClaim(string statement)
    {
        var policies = new SamplePolicies();
        var realtime = new RealtimeRowPolicyCollection();
        policies.AttachRealtime(realtime);
        Assert.That(policies.TryApply(statement), Is.EqualTo("CREATE POLICY"));

        var bound = new List<object>();
        string? condition = policies.ReadCondition("orders", User(("sub", "u1"), ("role", "authenticated")), v => { bound.Add(v); return "$p"; });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(condition, Is.EqualTo("(CAST(\"customer\" AS TEXT) = $p)"));
            Assert.That(bound, Is.EqualTo(new object[] { "u1" }));
            Assert.That(realtime.Single().Claims, Is.EqualTo(new[] { "sub" }), "the realtime endpoint got the same rule");
            Assert.That(policies.ReadCondition("orders", User(("role", "service_role")), _ => "$p"), Is.Null, "service_role bypasses");
            Assert.That(policies.ReadCondition("orders", User(("role", "anon")), _ => "$p"), Is.EqualTo("0"), "no claim: no row");
            Assert.That(policies.ReadCondition("other", User(("sub", "u1")), _ => "$p"), Is.Null, "no policy on the table");
        }
    }

    [Test]
    public void TryApply_NestedMetadataClaim_IsADottedClaimPath()
    {
        var policies = new SamplePolicies();
        var realtime = new RealtimeRowPolicyCollection();
        policies.AttachRealtime(realtime);
        policies.TryApply("CREATE POLICY t ON tickets FOR SELECT USING (tenant = auth.jwt() -> 'user_metadata' ->> 'tenant_id')");
        ClaimsPrincipal user = User(("user_metadata", """{"tenant_id":"acme"}"""), ("role", "authenticated"));
        string? bound = null;
        policies.ReadCondition("tickets", user, v => { bound = (string)v; return "$p"; });
        Assert.That((bound, realtime.Single().Claims[0]), Is.EqualTo(("acme", "user_metadata.tenant_id")));
    }

    [Test]
    public void TryApply_RealtimeMessages_DecidesPrivateTopics()
    {
        var policies = new SamplePolicies();
        policies.TryApply("CREATE POLICY r ON realtime.messages FOR SELECT USING (realtime.topic() = auth.jwt() ->> 'team')");
        ClaimsPrincipal red = User(("team", "red"), ("role", "authenticated"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(policies.AllowsTopic(red, "red", write: false), Is.True);
            Assert.That(policies.AllowsTopic(red, "blue", write: false), Is.False);
            Assert.That(policies.AllowsTopic(red, "red", write: true), Is.False, "no INSERT policy: no write");
        }
    }

    [TestCase("CREATE POLICY p ON orders FOR SELECT USING (customer LIKE 'a%')")]
    [TestCase("CREATE POLICY p ON orders FOR UPDATE USING (customer = auth.uid())")]
    [TestCase("CREATE POLICY p ON realtime.other FOR SELECT USING (true)")]
    public void TryApply_UnsupportedForms_AreRefusedNotIgnored(string statement) =>
        Assert.Throws<FormatException>(() => new SamplePolicies().TryApply(statement));

    [TestCase("SELECT 1")]
    [TestCase("INSERT INTO policy VALUES (1)")]
    public void TryApply_OrdinarySql_IsNotAPolicy(string statement) => Assert.That(new SamplePolicies().TryApply(statement), Is.Null);

    [Test]
    public void TryApply_EnableRowLevelSecurity_IsAcceptedAsANoOp() =>
        Assert.That(new SamplePolicies().TryApply("ALTER TABLE orders ENABLE ROW LEVEL SECURITY;"), Is.EqualTo("ALTER TABLE"));
}
