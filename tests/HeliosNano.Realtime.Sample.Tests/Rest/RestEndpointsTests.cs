using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.Sample.Tests.Rest;

public class RestEndpointsTests
{
    private SampleServer _server = null!;

    [SetUp]
    public async Task SetUp()
    {
        _server = await SampleServer.StartAsync();
        (int status, _) = await _server.PostSqlAsync(
            "CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC(10, 2), paid BOOLEAN DEFAULT false);" +
            "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99), ('Bob', 5), ('Carol', 12.5);",
            CancellationToken.None);
        Assert.That(status, Is.EqualTo(200));
    }

    [TearDown]
    public async Task TearDown() => await _server.DisposeAsync();

    [Test]
    [CancelAfter(10_000)]
    public async Task Get_EqFilterAndSelect_ReturnsMatchingRowsWithContentRange(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, HttpResponseMessage response) = await _server.SendAsync(
            HttpMethod.Get, "/rest/v1/orders?select=id,customer&customer=eq.Bob", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(200));
            Assert.That(body.GetRawText(), Is.EqualTo("""[{"id":2,"customer":"Bob"}]"""));
            Assert.That(response.Content.Headers.GetValues("Content-Range").Single(), Is.EqualTo("0-0/*"));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Get_OperatorsOrderLimitAndCount_FollowPostgrest(CancellationToken cancellationToken)
    {
        (_, JsonElement range, HttpResponseMessage response) = await _server.SendAsync(
            HttpMethod.Get, "/rest/v1/orders?select=customer&total=gte.5&order=total.desc&limit=2", null, cancellationToken, ("Prefer", "count=exact"));
        (_, JsonElement inList, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id&id=in.(1,3)&order=id", null, cancellationToken);
        (_, JsonElement notEq, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id&id=not.eq.2&paid=is.false", null, cancellationToken);
        (_, JsonElement like, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=customer&customer=ilike.*ARO*", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(range.GetRawText(), Is.EqualTo("""[{"customer":"Alice"},{"customer":"Carol"}]"""));
            Assert.That(response.Content.Headers.GetValues("Content-Range").Single(), Is.EqualTo("0-1/3"));
            Assert.That(inList.GetRawText(), Is.EqualTo("""[{"id":1},{"id":3}]"""));
            Assert.That(notEq.GetRawText(), Is.EqualTo("""[{"id":1},{"id":3}]"""));
            Assert.That(like.GetRawText(), Is.EqualTo("""[{"customer":"Carol"}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Head_CountExact_ReturnsCountInContentRangeWithoutBody(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, HttpResponseMessage response) = await _server.SendAsync(
            HttpMethod.Head, "/rest/v1/orders?paid=is.false", null, cancellationToken, ("Prefer", "count=exact"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(200));
            Assert.That(body.ValueKind, Is.EqualTo(JsonValueKind.Undefined));
            Assert.That(response.Content.Headers.GetValues("Content-Range").Single(), Is.EqualTo("0-2/3"));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Post_ReturnRepresentation_Returns201WithInsertedRows(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(
            HttpMethod.Post, "/rest/v1/orders", """[{"customer":"Dave","total":7.25,"paid":true},{"customer":"Eve"}]""", cancellationToken,
            ("Prefer", "return=representation"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(201));
            Assert.That(body.GetRawText(), Is.EqualTo(
                """[{"id":4,"customer":"Dave","total":7.25,"paid":true},{"id":5,"customer":"Eve","total":null,"paid":false}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Post_WithoutPrefer_Returns201WithEmptyBody(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(HttpMethod.Post, "/rest/v1/orders", """{"customer":"Dave"}""", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(201));
            Assert.That(body.ValueKind, Is.EqualTo(JsonValueKind.Undefined));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Post_ArrayWithOneBadRow_InsertsNothing(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(
            HttpMethod.Post, "/rest/v1/orders", """[{"customer":"Dave"},{"customer":null}]""", cancellationToken);
        (_, JsonElement all, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(400));
            Assert.That(body.GetProperty("message").GetString(), Does.Contain("NOT NULL"));
            Assert.That(all.GetArrayLength(), Is.EqualTo(3));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Post_MergeDuplicates_Upserts(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(
            HttpMethod.Post, "/rest/v1/orders", """{"id":1,"customer":"Alice B."}""", cancellationToken,
            ("Prefer", "return=representation,resolution=merge-duplicates"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(201));
            Assert.That(body.GetRawText(), Is.EqualTo("""[{"id":1,"customer":"Alice B.","total":49.99,"paid":false}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Patch_EqFilter_UpdatesOnlyMatchingRowAndReturnsIt(CancellationToken cancellationToken)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(
            HttpMethod.Patch, "/rest/v1/orders?id=eq.1", """{"paid":true,"total":50}""", cancellationToken, ("Prefer", "return=representation"));
        (_, JsonElement unpaid, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id&paid=eq.false&order=id", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(200));
            Assert.That(body.GetRawText(), Is.EqualTo("""[{"id":1,"customer":"Alice","total":50,"paid":true}]"""));
            Assert.That(unpaid.GetRawText(), Is.EqualTo("""[{"id":2},{"id":3}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Delete_EqFilter_Returns204AndRemovesRow(CancellationToken cancellationToken)
    {
        (int status, _, _) = await _server.SendAsync(HttpMethod.Delete, "/rest/v1/orders?id=eq.2", null, cancellationToken);
        (_, JsonElement left, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id&order=id", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(204));
            Assert.That(left.GetRawText(), Is.EqualTo("""[{"id":1},{"id":3}]"""));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Get_SingleObjectAccept_ReturnsObjectOr406(CancellationToken cancellationToken)
    {
        (int one, JsonElement row, _) = await _server.SendAsync(
            HttpMethod.Get, "/rest/v1/orders?select=customer&id=eq.3", null, cancellationToken, ("Accept", "application/vnd.pgrst.object+json"));
        (int many, JsonElement error, _) = await _server.SendAsync(
            HttpMethod.Get, "/rest/v1/orders", null, cancellationToken, ("Accept", "application/vnd.pgrst.object+json"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(one, Is.EqualTo(200));
            Assert.That(row.GetRawText(), Is.EqualTo("""{"customer":"Carol"}"""));
            Assert.That(many, Is.EqualTo(406));
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("PGRST116"));
        }
    }

    [TestCase("/rest/v1/nope", 404, "PGRST205")]
    [TestCase("/rest/v1/orders?nope=eq.1", 400, "42703")]
    [TestCase("/rest/v1/orders?select=id,nope", 400, "42703")]
    [TestCase("/rest/v1/orders?order=nope.desc", 400, "42703")]
    [TestCase("/rest/v1/orders?id=regex.1", 400, "PGRST100")]
    [TestCase("/rest/v1/orders%22%3B%20DROP%20TABLE%20orders%3B--", 404, "PGRST205")]
    public async Task Get_UnknownNamesOrOperators_AreRefusedWithPostgrestErrors(string path, int expectedStatus, string expectedCode)
    {
        (int status, JsonElement body, _) = await _server.SendAsync(HttpMethod.Get, path, null, CancellationToken.None);
        (_, JsonElement all, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=id", null, CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(expectedStatus));
            Assert.That(body.GetProperty("code").GetString(), Is.EqualTo(expectedCode));
            Assert.That(all.GetArrayLength(), Is.EqualTo(3), "the table is intact");
        }
    }

    [TestCase("PATCH", "return=representation")]
    [TestCase("PATCH", "return=minimal")]
    [TestCase("DELETE", "return=representation")]
    [TestCase("DELETE", "return=minimal")]
    [CancelAfter(10_000)]
    public async Task Mutation_SingleObjectAcceptMatchingManyRows_Returns406AndChangesNothing(string method, string returnPreference, CancellationToken cancellationToken)
    {
        using var notifier = _server.App.Services.GetRequiredService<ChangeNotifier>().Subscribe();
        (int status, JsonElement error, _) = await _server.SendAsync(
            new HttpMethod(method), "/rest/v1/orders?total=gte.0", method == "PATCH" ? """{"total":0}""" : null, cancellationToken,
            ("Accept", "application/vnd.pgrst.object+json"), ("Prefer", returnPreference));
        (_, JsonElement rows, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=customer,total&order=id", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(406));
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("PGRST116"));
            Assert.That(rows.GetRawText(), Is.EqualTo("""[{"customer":"Alice","total":49.99},{"customer":"Bob","total":5},{"customer":"Carol","total":12.5}]"""), "rolled back");
            Assert.That(notifier.TryRead(out _), Is.False, "nothing published");
        }
    }

    [TestCase("*,*")]
    [TestCase("a:customer,b:customer")]
    [TestCase("customer,customer")]
    [CancelAfter(10_000)]
    public async Task Get_RepeatedSelectItems_Returns400(string select, CancellationToken cancellationToken)
    {
        (int status, JsonElement error, _) = await _server.SendAsync(HttpMethod.Get, "/rest/v1/orders?select=" + select, null, cancellationToken);

        Assert.That((status, error.GetProperty("code").GetString()), Is.EqualTo((400, "PGRST100")));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Get_ResultAboveMaxResponseBytes_Returns400WithoutBuildingIt(CancellationToken cancellationToken)
    {
        // 1 MiB cap; 64 rows of 64 KiB = 4 MiB of JSON: refused at the cap, the rest is never built.
        await using SampleServer server = await SampleServer.StartAsync("--Sample:MaxResponseBytes", "1048576");
        (int created, _) = await server.PostSqlAsync(
            "CREATE TABLE big (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64) INSERT INTO big SELECT printf('%.*c', 65536, 'x') FROM n",
            cancellationToken);
        (int rest, JsonElement restError, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/big?select=*", null, cancellationToken);
        (int sql, JsonElement sqlError) = await server.PostSqlAsync("SELECT v, v AS w FROM big", cancellationToken);
        (int small, _, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/big?select=v&limit=2", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(created, Is.EqualTo(200));
            Assert.That((rest, restError.GetProperty("code").GetString()), Is.EqualTo((400, "54000")));
            Assert.That(sql, Is.EqualTo(400));
            Assert.That(sqlError.GetProperty("error").GetString(), Does.Contain("1048576 bytes"));
            Assert.That(small, Is.EqualTo(200));
        }
    }

    [TestCase("""{"customer":"\ud800"}""")]
    [TestCase("""{"\udc00":"x"}""")]
    [CancelAfter(10_000)]
    public async Task Post_LoneSurrogateEscape_Returns400Pgrst102(string json, CancellationToken cancellationToken)
    {
        (int status, JsonElement error, _) = await _server.SendAsync(HttpMethod.Post, "/rest/v1/orders", json, cancellationToken);

        Assert.That((status, error.GetProperty("code").GetString()), Is.EqualTo((400, "PGRST102")));
    }
}
