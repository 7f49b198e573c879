using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
    public async Task ApiKeySet_KeyInHeaderOrBearer_IsAcceptedAndInTheQueryOnlyOnTheWebSocket(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        (int header, _) = await server.PostSqlAsync("CREATE TABLE t (id INTEGER PRIMARY KEY)", cancellationToken, apiKey: Key);
        (int bearer, _, _) = await server.SendAsync(HttpMethod.Post, "/rest/v1/t", "{}", cancellationToken, ("Authorization", "Bearer " + Key));
        (int query, _, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/t?apikey=" + Key, null, cancellationToken);
        (int sqlQuery, _, _) = await server.SendAsync(HttpMethod.Post, "/sql?apikey=" + Key, "SELECT 1", cancellationToken);
        (_, JsonElement rows, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/t", null, cancellationToken, ("apikey", Key));
        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken, "?apikey=" + Key + "&vsn=1.0.0");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(header, Is.EqualTo(200));
            Assert.That(bearer, Is.EqualTo(201));
            Assert.That(query, Is.EqualTo(401), "REST takes the key in headers only");
            Assert.That(sqlQuery, Is.EqualTo(401), "/sql takes the key in headers only");
            Assert.That(rows.GetRawText(), Is.EqualTo("""[{"id":1}]"""));
            Assert.That(socket.State, Is.EqualTo(WebSocketState.Open));
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
    public async Task ApiKeySet_RestBroadcast_NeedsTheKeyInAHeader(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key);
        const string Batch = """{"messages":[{"topic":"room1","event":"chat","payload":{}}]}""";
        (int none, _, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast", Batch, cancellationToken);
        (int query, _, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast?apikey=" + Key, Batch, cancellationToken);
        (int header, _, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast", Batch, cancellationToken, ("apikey", Key));
        (int single, _, _) = await server.SendAsync(
            HttpMethod.Post, "/realtime/v1/api/broadcast/room1/events/chat", "{}", cancellationToken, ("Authorization", "Bearer " + Key));
        (int singleNone, _, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast/room1/events/chat", "{}", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(none, Is.EqualTo(401));
            Assert.That(query, Is.EqualTo(401), "the REST broadcast takes the key in headers only (supabase-js sends the apikey header)");
            Assert.That(header, Is.EqualTo(202));
            Assert.That(single, Is.EqualTo(202));
            Assert.That(singleNone, Is.EqualTo(401));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task NoApiKey_CrossSiteRestBroadcast_Gets403(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        (int evil, _, _) = await server.SendAsync(
            HttpMethod.Post, "/realtime/v1/api/broadcast/room1/events/chat", "{}", cancellationToken, ("Origin", "https://evil.example"));
        (int local, _, _) = await server.SendAsync(
            HttpMethod.Post, "/realtime/v1/api/broadcast/room1/events/chat", "{}", cancellationToken, ("Origin", "http://localhost:5173"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(evil, Is.EqualTo(403));
            Assert.That(local, Is.EqualTo(202));
        }
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
        using HttpResponseMessage script = await server.Http.GetAsync("/dashboard.js", cancellationToken);
        string dashboard = await script.Content.ReadAsStringAsync(cancellationToken);
        using HttpResponseMessage lobbyScript = await server.Http.GetAsync("/lobby.js", cancellationToken);
        string lobby = await lobbyScript.Content.ReadAsStringAsync(cancellationToken);
        using HttpResponseMessage style = await server.Http.GetAsync("/dashboard.css", cancellationToken);
        (_, JsonElement info, _) = await server.SendAsync(HttpMethod.Get, "/api/info", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
            Assert.That(html, Does.Contain("dashboard.js").And.Contain("dashboard.css"));
            Assert.That(script.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(script.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/javascript"), "a module script needs a JavaScript type");
            Assert.That(dashboard, Does.Contain("/realtime/v1/websocket").And.Contain("phx_join"));
            Assert.That(lobby, Does.Contain("presence").And.Contain("broadcast"));
            Assert.That(style.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(info.GetProperty("apiKeyRequired").GetBoolean(), Is.True);
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ApiKeyInQuery_RequestLogsAtInformation_ShowItRedacted(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync("--apikey", Key, "--Logging:LogLevel:Microsoft.AspNetCore", "Information");
        var sink = new CapturingLoggerProvider();
        server.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(sink);

        await server.SendAsync(HttpMethod.Get, "/rest/v1/t?apikey=" + Key, null, cancellationToken);
        using (ClientWebSocket socket = await server.ConnectAsync(cancellationToken, "?apikey=" + Key + "&vsn=1.0.0"))
        {
            Assert.That(socket.State, Is.EqualTo(WebSocketState.Open), "the redacted URL still authenticates the socket");
        }

        string[] lines = sink.Lines;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lines, Has.Some.Contains("/realtime/v1/websocket?apikey=redacted"));
            Assert.That(lines, Has.None.Contains(Key));
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public string[] Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
