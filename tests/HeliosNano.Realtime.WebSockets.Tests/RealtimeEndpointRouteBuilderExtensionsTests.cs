using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeEndpointRouteBuilderExtensionsTests
{
    // One line, no app.UseWebSockets(): the endpoint carries its own WebSocket middleware.
    [Test]
    [CancelAfter(15_000)]
    public async Task MapHeliosRealtime_CustomPatternWithoutUseWebSockets_Accepts(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(map: app => app.MapHeliosRealtime("/socket/websocket"));
        var uri = new Uri(server.WebSocketUri.ToString().Replace("/realtime/v1/websocket", "/socket/websocket", StringComparison.Ordinal) + "?vsn=2.0.0");
        await using TestClient client = await TestClient.ConnectAsync(uri, arrayFormat: true, [], ct);
        List<Frame> before = await client.HeartbeatAsync("1", ct);
        Assert.That(before, Is.Empty);
    }

    // The returned IEndpointConventionBuilder chains conventions (RequireAuthorization, RequireCors, RequireHost…).
    [Test]
    [CancelAfter(15_000)]
    public async Task MapHeliosRealtime_RequireHostConvention_IsEnforced(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(map: app => app.MapHeliosRealtime().RequireHost("elsewhere.example"));
        Assert.That(async () => await server.ConnectAsync("?vsn=2.0.0", ct), Throws.InstanceOf<WebSocketException>());
    }

    [Test]
    public void MapHeliosRealtime_InvalidOptions_ThrowsAtMapTime()
    {
        WebApplication app = WebApplication.CreateSlimBuilder().Build();
        Assert.That(() => app.MapHeliosRealtime(configure: o => o.MaxChannelsPerConnection = 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void MapHeliosRealtime_DefaultPattern_IsTheSupabasePath()
    {
        WebApplication app = WebApplication.CreateSlimBuilder().Build();
        IEndpointConventionBuilder builder = app.MapHeliosRealtime();
        Assert.That(builder, Is.Not.Null);
        Assert.That(((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText),
            Does.Contain("/realtime/v1/websocket"));
    }
}
