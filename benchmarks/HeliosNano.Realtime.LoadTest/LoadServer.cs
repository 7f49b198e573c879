using System.Globalization;
using System.Net;
using HeliosNano.Realtime.WebSockets;
using Microsoft.AspNetCore.Http.Connections;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>serve --target helios|signalr|raw --port N [--scenario changes|broadcast|presence|rowpolicy|scaleout]</c>: the
/// server under test, in its own process, plus the control endpoints the tool drives it with (127.0.0.1 only). The
/// broadcast and presence scenarios are set up by <see cref="BroadcastServer"/>, rowpolicy (<c>--policy
/// none|open|tenant|filter --tenants T --jwt-secret S</c>) by <see cref="RowPolicyServer"/>, scaleout
/// (<c>[--redis host:port --redis-prefix p]</c>) by <see cref="ScaleOutServer"/>.
/// </summary>
/// <remarks>
/// Control: <c>POST /load/start?rate=R&amp;count=C&amp;seconds=S</c> (rate 0 = flat out), <c>POST /load/stop</c>,
/// <c>GET /load/stats[?gc=1]</c>, <c>POST /load/shutdown</c> (graceful host stop, as SIGTERM would).
/// Endpoints under test: helios <c>/realtime/v1/websocket</c>, signalr <c>/hub</c>, raw <c>/ws</c>.
/// </remarks>
internal static class LoadServer
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        string target = args.GetString("target", "helios");
        int port = args.GetInt("port", 5080);
        int noteBytes = args.GetInt("note-bytes", 64);
        int shutdownSeconds = args.GetInt("shutdown-timeout", 15);
        int parentPid = args.GetInt("parent-pid", 0);
        string scenario = args.GetString("scenario", "changes");
        string policy = args.GetString("policy", "none");
        int tenants = args.GetInt("tenants", 100);
        string? jwtSecret = args.GetOptionalString("jwt-secret");
        string? redis = args.GetOptionalString("redis");
        string redisPrefix = args.GetString("redis-prefix", "heliosnano");
        args.EnsureAllUsed();
        if (redis is not null && scenario != "scaleout")
        {
            throw new ArgumentException("--redis is an option of --scenario scaleout only.");
        }

        string note = OrderPayload.MakeNote(noteBytes);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds));
        switch (scenario)
        {
            case "changes":
                break;
            case "broadcast" or "presence":
                BroadcastServer.AddServices(builder.Services, scenario, target, note, port);
                break;
            case "rowpolicy":
                RowPolicyServer.AddServices(builder.Services, policy, tenants, jwtSecret ?? throw new ArgumentException("rowpolicy needs --jwt-secret."), note);
                break;
            case "scaleout":
                ScaleOutServer.AddServices(builder.Services, redis, redisPrefix, note);
                break;
            default:
                throw new ArgumentException($"Unknown scenario '{scenario}': use changes, broadcast, presence, rowpolicy or scaleout.");
        }

        switch (scenario == "changes" ? target : "configured")
        {
            case "configured":
                break;
            case "helios":
                builder.Services.AddHeliosRealtime();
                builder.Services.AddSingleton<LoadPublisher>(sp => new HeliosPublisher(sp.GetRequiredService<ChangeNotifier>(), note));
                break;
            case "signalr":
                builder.Services.AddSignalR();
                builder.Services.AddSingleton<LoadPublisher>(sp => new SignalRPublisher(sp.GetRequiredService<Microsoft.AspNetCore.SignalR.IHubContext<LoadHub>>(), note));
                break;
            case "ring":
                builder.Services.AddHeliosRealtime();
                builder.Services.AddSingleton(sp => new RingPublisher(sp.GetRequiredService<ChangeNotifier>(), note));
                builder.Services.AddSingleton<LoadPublisher>(sp => sp.GetRequiredService<RingPublisher>());
                break;
            case "raw":
                builder.Services.AddSingleton<RawPublisher>(_ => new RawPublisher(note));
                builder.Services.AddSingleton<LoadPublisher>(sp => sp.GetRequiredService<RawPublisher>());
                break;
            default:
                throw new ArgumentException($"Unknown target '{target}': use helios, signalr, raw or ring.");
        }

        WebApplication app = builder.Build();
        LoadPublisher publisher = app.Services.GetRequiredService<LoadPublisher>();
        switch (scenario == "changes" ? target : "configured")
        {
            case "configured" when scenario == "rowpolicy":
                RowPolicyServer.MapEndpoints(app);
                break;
            case "configured" when scenario == "scaleout":
                ScaleOutServer.MapEndpoints(app);
                break;
            case "configured":
                BroadcastServer.MapEndpoints(app, target);
                break;
            case "helios":
                // Long soaks hold idle sockets for minutes: the default 60 s idle timeout expects client heartbeats,
                // which the load clients do not send (they only listen).
                app.MapHeliosRealtime(RealtimeEndpointRouteBuilderExtensions.DefaultPattern, o => o.IdleTimeout = TimeSpan.FromHours(1));
                break;
            case "signalr":
                app.MapHub<LoadHub>("/hub", o => o.Transports = HttpTransportType.WebSockets);
                break;
            case "ring":
                app.UseWebSockets();
                app.Map("/ws", app.Services.GetRequiredService<RingPublisher>().HandleAsync);
                break;
            default:
                app.UseWebSockets();
                RawPublisher raw = app.Services.GetRequiredService<RawPublisher>();
                app.Map("/ws", raw.HandleAsync);
                break;
        }

        app.MapPost("/load/start", (HttpRequest request) =>
        {
            double rate = ParseDouble(request.Query["rate"], 0);
            long count = (long)ParseDouble(request.Query["count"], 1000);
            double seconds = ParseDouble(request.Query["seconds"], 0);
            publisher.Start(rate, count, seconds);
            return Results.Accepted();
        });
        app.MapPost("/load/stop", async () =>
        {
            await publisher.StopAsync();
            return Results.Ok();
        });
        app.MapGet("/load/stats", (HttpRequest request) => Results.Json(publisher.GetStats(request.Query.ContainsKey("gc"))));
        app.MapPost("/load/shutdown", (IHostApplicationLifetime lifetime) =>
        {
            lifetime.StopApplication();
            return Results.Accepted();
        });

        await app.StartAsync();
        if (parentPid > 0)
        {
            // If the tool itself is killed (SIGKILL skips its cleanup), the server must not outlive it.
            _ = WatchParentAsync(parentPid, app.Lifetime);
        }

        Console.WriteLine($"ready {target} {port}");
        await app.WaitForShutdownAsync();
        await publisher.StopAsync();
        (publisher as IDisposable)?.Dispose();
        await app.DisposeAsync();
        Console.WriteLine("stopped");
        return 0;
    }

    private static async Task WatchParentAsync(int parentPid, IHostApplicationLifetime lifetime)
    {
        while (!lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await Task.Delay(1000, CancellationToken.None);
            if (!Directory.Exists($"/proc/{parentPid}"))
            {
                lifetime.StopApplication();
                return;
            }
        }
    }

    private static double ParseDouble(string? value, double fallback) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed : fallback;
}
