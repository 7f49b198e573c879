using HeliosNano.Realtime.WebSockets;
using Microsoft.AspNetCore.Http.Connections;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The server side of the <c>broadcast</c> and <c>presence</c> scenarios: which services and endpoints each target gets.
/// </summary>
/// <remarks>
/// helios and helios-push: <c>AddHeliosRealtimeWebSockets</c> (the topic registry, the broadcaster) and
/// <c>MapHeliosRealtime</c>; the inbound rate limit is raised for the one pushing client (Supabase limits events per
/// second per tenant; a benchmark that pushes flat out from one socket would trip the default 100/s). signalr: a hub
/// whose connections join one group. raw: the same raw fan-out as the changes scenario with the broadcast frame.
/// presence uses the helios host; its publisher only counts the channels.
/// </remarks>
internal static class BroadcastServer
{
    public static void AddServices(IServiceCollection services, string scenario, string target, string note, int port)
    {
        if (scenario == "presence" && target != "helios")
        {
            throw new ArgumentException("The presence scenario has one target: helios.");
        }

        switch (target)
        {
            case "helios" or "helios-push":
                services.AddHeliosRealtime();
                services.AddHeliosRealtimeWebSockets(o => o.MaxInboundMessagesPerSecond = 1_000_000);
                services.AddSingleton<LoadPublisher>(sp => new HeliosBroadcastPublisher(sp.GetRequiredService<RealtimeBroadcaster>(), note, viaClient: target == "helios-push", port));
                break;
            case "signalr":
                LoadHub.JoinGroup = true;
                services.AddSignalR();
                services.AddSingleton<LoadPublisher>(sp => new SignalRGroupPublisher(sp.GetRequiredService<Microsoft.AspNetCore.SignalR.IHubContext<LoadHub>>(), note));
                break;
            case "raw":
                var scratch = new System.Buffers.ArrayBufferWriter<byte>(1024);
                services.AddSingleton(_ => new RawPublisher(note, (sequence, row) => BroadcastPayload.BuildFrame(sequence, row, scratch)));
                services.AddSingleton<LoadPublisher>(sp => sp.GetRequiredService<RawPublisher>());
                break;
            default:
                throw new ArgumentException($"Unknown target '{target}' for {scenario}: use helios, helios-push, signalr or raw.");
        }
    }

    public static void MapEndpoints(WebApplication app, string target)
    {
        switch (target)
        {
            case "helios" or "helios-push":
                // The load clients only listen (no heartbeats): the default 60 s idle timeout would close them.
                app.MapHeliosRealtime(RealtimeEndpointRouteBuilderExtensions.DefaultPattern, o => o.IdleTimeout = TimeSpan.FromHours(1));
                break;
            case "signalr":
                app.MapHub<LoadHub>("/hub", o => o.Transports = HttpTransportType.WebSockets);
                break;
            default:
                app.UseWebSockets();
                app.Map("/ws", app.Services.GetRequiredService<RawPublisher>().HandleAsync);
                break;
        }
    }
}
