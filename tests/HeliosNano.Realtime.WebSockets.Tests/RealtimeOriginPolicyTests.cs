using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>Cross-site WebSocket hijacking (review finding #8): the handshake's Origin is checked before the upgrade.</summary>
public class RealtimeOriginPolicyTests
{
    private static async Task<(HttpStatusCode? Status, string? Body)> HandshakeAsync(Uri uri, string? origin, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        socket.Options.SetRequestHeader("Cookie", "session=alice");
        try
        {
            await socket.ConnectAsync(uri, cancellationToken);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
            return (HttpStatusCode.SwitchingProtocols, null);
        }
        catch (WebSocketException)
        {
            return (socket.HttpStatusCode, null);
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Handshake_AllowedOriginsSet_RefusesOtherOriginsWith403BeforeTheUpgrade(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.AllowedOrigins.Add("https://app.example"));
        var uri = new Uri(server.WebSocketUri + "?vsn=1.0.0");

        using (Assert.EnterMultipleScope())
        {
            Assert.That((await HandshakeAsync(uri, "https://evil.example", cancellationToken)).Status, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await HandshakeAsync(uri, "https://APP.example", cancellationToken)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That((await HandshakeAsync(uri, null, cancellationToken)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols), "no Origin: not a browser");
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Handshake_RefusedOrigin_GetsAJsonBody(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.AllowedOrigins.Add("https://app.example"));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.WebSocketUri.ToString().Replace("ws://", "http://", StringComparison.Ordinal));
        request.Headers.Add("Origin", "https://evil.example");
        request.Headers.Add("Connection", "Upgrade");
        request.Headers.Add("Upgrade", "websocket");
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
        using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("""{"error":"Origin not allowed"}"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Handshake_HostWithCookieAuthentication_AcceptsOnlyItsOwnOriginByDefault(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        builder.Services.AddHeliosRealtime();
        await using WebApplication app = builder.Build();
        app.MapHeliosRealtime();
        await app.StartAsync(cancellationToken);
        var http = new Uri(app.Urls.First());
        var uri = new Uri($"ws://{http.Authority}/realtime/v1/websocket?vsn=1.0.0");

        using (Assert.EnterMultipleScope())
        {
            Assert.That((await HandshakeAsync(uri, "https://evil.example", cancellationToken)).Status, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await HandshakeAsync(uri, $"http://{http.Authority}", cancellationToken)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
        }
    }

    [TestCase(null, HttpStatusCode.SwitchingProtocols)]
    [TestCase(true, HttpStatusCode.Forbidden)]
    [CancelAfter(15_000)]
    public async Task Handshake_NoCookieAuthenticationAndNoList_ChecksOnlyWhenAskedTo(bool? validate, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.ValidateOrigin = validate);

        Assert.That((await HandshakeAsync(new Uri(server.WebSocketUri + "?vsn=1.0.0"), "https://evil.example", cancellationToken)).Status, Is.EqualTo(expected));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Handshake_PastMaxConnections_Gets429(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxConnections = 2);
        await using TestClient first = await server.ConnectAsync(cancellationToken: cancellationToken);
        await using TestClient second = await server.ConnectAsync(cancellationToken: cancellationToken);

        (HttpStatusCode? status, _) = await HandshakeAsync(new Uri(server.WebSocketUri + "?vsn=1.0.0"), null, cancellationToken);
        Frame reply = await first.JoinOrdersAsync("realtime:orders", "1", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(reply.Status, Is.EqualTo("ok"), "the connections already held are unaffected");
        }
    }
}
