using System.Text;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RowFilterTests
{
    private static readonly ChangeColumn[] s_columns =
    [
        new("id", "int4"),
        new("total", "numeric"),
        new("name", "text"),
        new("paid", "bool"),
        new("created_at", "timestamptz"),
        new("key", "uuid"),
        new("deleted_at", "timestamp"),
    ];

    private static readonly string[] s_expectedParts = ["status=in.(paid,\"a,b\")", "name=eq.\"x,y\"", "id=eq.1"];

    private const string Row = """{"id":7,"total":"49.99","name":"Alice","paid":true,"created_at":"2026-04-26T10:01:23+00:00","key":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","deleted_at":null,"meta":{"k":1}}""";

    [TestCase("id=eq.7", true)]
    [TestCase("id=eq.07", true)]
    [TestCase("id=neq.7", false)]
    [TestCase("id=lt.10", true)]
    [TestCase("id=lt.7", false)]
    [TestCase("id=lte.7", true)]
    [TestCase("id=gt.6", true)]
    [TestCase("id=gte.8", false)]
    [TestCase("total=gt.9", true)] // numeric: "49.99" > 9 although "49.99" < "9" as text
    [TestCase("total=eq.49.990", true)]
    [TestCase("name=gt.B", false)]
    [TestCase("name=eq.Alice", true)]
    [TestCase("name=eq.alice", false)]
    [TestCase("name=in.(Bob,Alice)", true)]
    [TestCase("name=in.(Bob,\"Al,ice\")", false)]
    [TestCase("id=in.(1,2,7)", true)]
    [TestCase("id=not.in.(1,2,7)", false)]
    [TestCase("name=like.Al%", true)]
    [TestCase("name=like.al%", false)]
    [TestCase("name=ilike.al%", true)]
    [TestCase("name=like.A_ice", true)]
    [TestCase("name=match.^A.i", true)]
    [TestCase("name=imatch.^a", true)]
    [TestCase("paid=eq.true", true)]
    [TestCase("paid=eq.f", false)]
    [TestCase("paid=is.true", true)]
    [TestCase("paid=is.false", false)]
    [TestCase("deleted_at=is.null", true)]
    [TestCase("deleted_at=not.is.null", false)]
    [TestCase("missing=is.null", true)]
    [TestCase("deleted_at=eq.2026-01-01", false)] // SQL NULL: unknown, not a match
    [TestCase("deleted_at=neq.2026-01-01", false)] // ... whatever the operator
    [TestCase("deleted_at=not.eq.2026-01-01", false)] // ... negated too
    [TestCase("deleted_at=isdistinct.2026-01-01", true)]
    [TestCase("id=isdistinct.7", false)]
    [TestCase("id=not.isdistinct.7", true)]
    [TestCase("created_at=gt.2026-04-26T09:00:00Z", true)]
    [TestCase("created_at=lte.2026-04-26T12:01:23+02:00", true)] // instants, not text: the same instant as 10:01:23Z
    [TestCase("created_at=lt.2026-04-26T12:01:23+02:00", false)]
    [TestCase("key=eq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", true)]
    [TestCase("meta=eq.{\"k\":1}", true)]
    [TestCase("id=eq.7,name=eq.Alice", true)]
    [TestCase("id=eq.7,name=eq.Bob", false)]
    [TestCase("  ", true)]
    public void Matches_Condition_FollowsTypedSqlSemantics(string filter, bool expected)
    {
        RowFilter? parsed = RowFilter.Parse(filter);
        bool matches = parsed is null || parsed.Matches(Encoding.UTF8.GetBytes(Row), s_columns);
        Assert.That(matches, Is.EqualTo(expected));
    }

    [TestCase("id=eq.7", true)]
    [TestCase("id=gt.\"5\"", true)]
    [TestCase("flag=eq.true", true)]
    [TestCase("ratio=lt.1", true)]
    public void Matches_ColumnWithoutType_UsesJsonValueKind(string filter, bool expected)
    {
        RowFilter parsed = RowFilter.Parse(filter)!;
        Assert.That(parsed.Matches("""{"id":7,"flag":true,"ratio":0.5}"""u8, []), Is.EqualTo(expected));
    }

    [TestCase("id")]
    [TestCase("id=")]
    [TestCase("id=eq")]
    [TestCase("id=foo.1")]
    [TestCase("id=in.1,2")]
    [TestCase("id=is.maybe")]
    [TestCase("name=match.(")]
    [TestCase("=eq.1")]
    [TestCase("name=eq.\"open")]
    public void Parse_MalformedFilter_ThrowsFormatException(string filter)
    {
        Assert.That(() => RowFilter.Parse(filter), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Parse_InWithMoreThanOneHundredValues_Throws()
    {
        string values = string.Join(',', Enumerable.Range(0, RowFilter.MaxInValues + 1));
        Assert.That(() => RowFilter.Parse($"id=in.({values})"), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void SplitTopLevel_QuotesAndParentheses_AreNotSeparators()
    {
        List<string> parts = RowFilter.SplitTopLevel("status=in.(paid,\"a,b\"),name=eq.\"x,y\",id=eq.1", ',');
        Assert.That(parts, Is.EqualTo(s_expectedParts));
    }

    [Test]
    public void Matches_EmptyRow_IsFalse()
    {
        Assert.That(RowFilter.Parse("id=is.null")!.Matches([], s_columns), Is.False);
    }
}
