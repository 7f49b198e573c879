using System.Net;
using System.Net.WebSockets;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeWebSocketHandlerTests
{
    // The tutorial: without a change notifier the client gets one system error and the socket closes.
    [TestCase("", false)]
    [TestCase("?vsn=2.0.0", true)]
    [CancelAfter(15_000)]
    public async Task Connect_NotifierNotRegistered_SendsOneSystemErrorAndCloses(string query, bool arrayFormat, CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(registerNotifier: false);
        await using TestClient client = await server.ConnectAsync(query, ct);
        Frame system = (await client.ReceiveAsync(ct))!;
        Frame? next = await client.ReceiveAsync(ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(system.Text, Does.StartWith(arrayFormat ? "[" : "{"));
            Assert.That(system.Event, Is.EqualTo("system"));
            Assert.That(system.Payload.GetProperty("status").GetString(), Is.EqualTo("error"));
            Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Realtime notifications are not enabled on this server"));
            Assert.That(system.Payload.GetProperty("extension").GetString(), Is.EqualTo("system"));
            Assert.That(system.Payload.TryGetProperty("channel", out _), Is.True);
            Assert.That(next, Is.Null);
            Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.InternalServerError));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Request_NotAWebSocketUpgrade_Gets400(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        using var http = new HttpClient();
        HttpResponseMessage response = await http.GetAsync(new Uri(server.BaseUri, "/realtime/v1/websocket?apikey=x"), ct);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Connect_UnsupportedVsn_IsRefusedAtTheUpgrade(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        Assert.That(async () => await server.ConnectAsync("?vsn=3.0.0", ct), Throws.InstanceOf<WebSocketException>());
    }
}
