using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeBroadcastEndpointsTests
{
    private const string JoinPayload = """{"config":{"broadcast":{"ack":false,"self":false},"postgres_changes":[]}}""";

    private static Task<RealtimeServer> StartAsync(Action<RealtimeWebSocketOptions>? configure = null) =>
        RealtimeServer.StartAsync(map: app =>
        {
            app.MapHeliosRealtime(configure: configure);
            app.MapHeliosRealtimeBroadcast();
        });

    private static async Task<HttpResponseMessage> PostAsync(RealtimeServer server, string path, string body, string? contentType, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        return await http.PostAsync(new Uri(path, UriKind.Relative), content, ct);
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Batch_ValidMessages_Returns202AndDeliversEachInOrder(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        await client.JoinAsync("realtime:room1", JoinPayload, "1", ct);

        using HttpResponseMessage response = await PostAsync(server, "/realtime/v1/api/broadcast?apikey=k&vsn=2.0.0",
            """{"messages":[{"topic":"room1","event":"a","payload":{"n":1},"private":false},{"topic":"other","event":"b","payload":{}},{"topic":"room1","event":"c","payload":{"n":2}}]}""",
            "application/json", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await response.Content.ReadAsStringAsync(ct), Is.Empty);
            Assert.That((await client.ReceiveAsync(ct))!.Text, Is.EqualTo("""{"topic":"realtime:room1","event":"broadcast","payload":{"event":"a","payload":{"n":1},"type":"broadcast"},"ref":null}"""));
            Assert.That((await client.ReceiveAsync(ct))!.Payload.GetProperty("event").GetString(), Is.EqualTo("c"));
        }
    }

    [TestCase("{not json", HttpStatusCode.BadRequest)]
    [TestCase("""{"messages":{}}""", HttpStatusCode.BadRequest)]
    [TestCase("""{"messages":[{"topic":"room1","payload":{}}]}""", HttpStatusCode.BadRequest)]
    [TestCase("""{"messages":[{"topic":"room1","event":"e","payload":{"s":"0123456789012345678901234567890123456789"}}]}""", HttpStatusCode.UnprocessableEntity)]
    [CancelAfter(15_000)]
    public async Task Batch_BadBody_Returns4xxWithJsonAndSendsNothing(string body, HttpStatusCode expected, CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(map: app =>
        {
            app.MapHeliosRealtime();
            app.MapHeliosRealtimeBroadcast();
        }, configureServices: services => services.Configure<RealtimeWebSocketOptions>(o => o.MaxBroadcastPayloadBytes = 20));
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:room1", JoinPayload, "1", ct);

        using HttpResponseMessage response = await PostAsync(server, "/realtime/v1/api/broadcast", body, "application/json", ct);
        string text = await response.Content.ReadAsStringAsync(ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(expected));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(() => JsonDocument.Parse(text), Throws.Nothing, text);
            Assert.That(await client.HeartbeatAsync("hb", ct), Is.Empty);
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Single_JsonBody_Returns202AndDelivers(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:room 1", JoinPayload, "1", ct);

        using HttpResponseMessage response = await PostAsync(server, "/realtime/v1/api/broadcast/room%201/events/cursor?apikey=k", """{"x":1}""", "application/json", ct);
        using HttpResponseMessage unsupported = await PostAsync(server, "/realtime/v1/api/broadcast/room%201/events/cursor", "x", "text/plain", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That((await client.ReceiveAsync(ct))!.Text, Is.EqualTo("""[null,null,"realtime:room 1","broadcast",{"event":"cursor","payload":{"x":1},"type":"broadcast"}]"""));
            Assert.That(unsupported.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
            Assert.That(await unsupported.Content.ReadAsStringAsync(ct), Is.EqualTo("""{"error":"Unsupported Media Type. Use application/json or application/octet-stream"}"""));
        }
    }

    [Test]
    public void MapHeliosRealtimeBroadcast_WithoutAddHeliosRealtimeWebSockets_SaysWhatToCall()
    {
        Microsoft.AspNetCore.Builder.WebApplication app = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder().Build();

        Assert.That(() => app.MapHeliosRealtimeBroadcast(), Throws.InvalidOperationException.With.Message.Contains("AddHeliosRealtimeWebSockets"));
    }
}
