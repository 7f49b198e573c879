using System.Text;

namespace HeliosNano.Realtime.WebSockets.Tests;

public sealed class RealtimeRowPolicyTests
{
    private static ReadOnlyMemory<byte> Row(string json) => Encoding.UTF8.GetBytes(json);

    private static Dictionary<string, string?> Claims(string name, string? value) => new() { [name] = value };

    [TestCase("""{"id":1,"tenant":"t1"}""", "t1", true)]
    [TestCase("""{"id":1,"tenant":"t2"}""", "t1", false)]
    [TestCase("""{"id":1,"tenant":42}""", "42", true)]
    [TestCase("""{"id":1,"tenant":true}""", "true", true)]
    [TestCase("""{"id":1,"tenant":null}""", "t1", false)]
    [TestCase("""{"id":1}""", "t1", false)]
    [TestCase("""{"nested":{"tenant":"t1"},"tenant":"t2"}""", "t1", false)]
    [TestCase("""{"tenant":"t\u0031"}""", "t1", true)]
    public void ColumnEqualsClaim_ComparesTheColumnAsText(string row, string claim, bool expected)
    {
        RealtimeRowPolicy policy = RealtimeRowPolicy.ColumnEqualsClaim("p", "public", "orders", "tenant", "tenant_id");
        Assert.That(policy.Evaluate(Row(row), Claims("tenant_id", claim)), Is.EqualTo(expected));
    }

    [Test]
    public void ColumnEqualsClaim_MissingClaim_NeverMatches() =>
        Assert.That(RealtimeRowPolicy.ColumnEqualsClaim("p", "public", "orders", "tenant", "tenant_id").Evaluate(Row("""{"tenant":""}"""), Claims("tenant_id", null)), Is.False);

    [Test]
    public void Create_RuleReadsDeclaredClaimsAndTheRow()
    {
        RealtimeRowPolicy policy = RealtimeRowPolicy.Create("p", "public", "orders", ["sub"], c => c.Row.GetProperty("owner").GetString() == c.GetClaim("sub") || c.ColumnEquals("shared", "true"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(policy.Evaluate(Row("""{"owner":"u1","shared":false}"""), Claims("sub", "u1")), Is.True);
            Assert.That(policy.Evaluate(Row("""{"owner":"u2","shared":true}"""), Claims("sub", "u1")), Is.True);
            Assert.That(policy.Evaluate(Row("""{"owner":"u2","shared":false}"""), Claims("sub", "u1")), Is.False);
            Assert.That(policy.Claims, Is.EqualTo(new[] { "sub" }));
        }
    }

    [Test]
    public void Create_RuleReadingAnUndeclaredClaim_Throws()
    {
        RealtimeRowPolicy policy = RealtimeRowPolicy.Create("p", "public", "orders", ["sub"], c => c.GetClaim("tenant_id") == "x");
        Assert.Throws<ArgumentException>(() => policy.Evaluate(Row("{}"), Claims("sub", "u1")));
    }
}
