using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Tests;

public class AccessGuardTests
{
    private const string Key = "s3cret-key";

    [Test]
    [CancelAfter(15_000)]
    public async Task ApiKeySet_RequestsWithoutKey_Get401AndChangeNothing(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        (int sql, JsonElement body) = await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY)", cancellationToken);
        (int rest, _, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/t", null, cancellationToken);
        (int wrongKey, _) = await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY)", cancellationToken, apiKey: "wrong");
        (int tables, JsonElement list, _) = await server.SendAsync(HttpMethod.Get, "/api/tables", null, cancellationToken, ("apikey", Key));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(sql, Is.EqualTo(401));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("API key"));
            Assert.That(rest, Is.EqualTo(401));
            Assert.That(wrongKey, Is.EqualTo(401));
            Assert.That(tables, Is.EqualTo(200));
            Assert.That(list.GetArrayLength(), Is.Zero, "no refused request created the table");
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ApiKeySet_KeyInHeaderBearerOrQuery_IsAccepted(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        (int header, _) = await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY)", cancellationToken, apiKey: Key);
        (int bearer, _, _) = await server.SendAsync(HttpMethod.Post, "/rest/v1/t", "{}", cancellationToken, ("Authorization", "Bearer " + Key));
        (int query, JsonElement rows, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/t?apikey=" + Key, null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(header, Is.EqualTo(200));
            Assert.That(bearer, Is.EqualTo(201));
            Assert.That(query, Is.EqualTo(200));
            Assert.That(rows.GetRawText(), Is.EqualTo("""[{"id":1}]"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ApiKeySet_WebSocketWithoutKey_IsRefusedAndWithKeyJoins(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        await server.PostSqlAsync("CREATE TABLE orders (id INTEGER PRIMARY KEY)", cancellationToken, apiKey: Key);

        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        Assert.That(async () => await refused.ConnectAsync(server.WebSocketUri, cancellationToken), Throws.InstanceOf<WebSocketException>());
        Assert.That(refused.HttpStatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken, "?apikey=" + Key + "&vsn=1.0.0");
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}""", cancellationToken);
        JsonElement reply = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);

        Assert.That(reply.GetProperty("payload").GetProperty("status").GetString(), Is.EqualTo("ok"));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task NoApiKey_CrossSiteBrowserRequest_Gets403AndLoopbackOriginPasses(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        (int evil, JsonElement body, _) = await server.SendAsync(
            HttpMethod.Post, "/sql", "CREATE TABLE t (id INTEGER)", cancellationToken, ("Origin", "https://evil.example"));
        (int local, _, _) = await server.SendAsync(
            HttpMethod.Post, "/sql", "CREATE TABLE t (id INTEGER)", cancellationToken, ("Origin", "http://localhost:5173"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(evil, Is.EqualTo(403));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("Cross-origin"));
            Assert.That(local, Is.EqualTo(200));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ApiKeySet_DashboardAndInfo_StayPublic(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        using HttpResponseMessage page = await server.Http.GetAsync("/", cancellationToken);
        string html = await page.Content.ReadAsStringAsync(cancellationToken);
        (_, JsonElement info, _) = await server.SendAsync(HttpMethod.Get, "/api/info", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
            Assert.That(html, Does.Contain("/realtime/v1/websocket").And.Contain("phx_join"));
            Assert.That(info.GetProperty("apiKeyRequired").GetBoolean(), Is.True);
        }
    }
}
