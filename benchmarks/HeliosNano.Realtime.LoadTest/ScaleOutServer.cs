using System.Globalization;
using HeliosNano.Realtime.Redis;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>serve --target helios --scenario scaleout [--redis host:port --redis-prefix p]</c>: the WebSocket adapter as the
/// sample wires it (<c>AddHeliosRealtime</c>, optionally <c>AddRedisBackplane</c>, <c>AddHeliosRealtimeWebSockets</c>),
/// publishing through <see cref="ScaleOutPublisher"/>. Nodes started with the same Redis and prefix share one order of
/// changes; without <c>--redis</c> it is the single-node path.
/// </summary>
/// <remarks>
/// Control endpoints on top of the common ones: <c>POST /load/allow?upto=N</c> (the flat-out allowance, see
/// <see cref="ScaleOutPublisher"/>) and <c>GET /load/scaleout</c> (<see cref="ScaleOutNodeStats"/>).
/// </remarks>
internal static class ScaleOutServer
{
    public static void AddServices(IServiceCollection services, string? redis, string prefix, string note)
    {
        services.AddHeliosRealtime();
        if (redis is not null)
        {
            services.AddRedisBackplane(redis, o => o.Prefix = prefix);
        }

        // The load clients only listen (no heartbeats): the default 60 s idle timeout would close them.
        services.AddHeliosRealtimeWebSockets(o => o.IdleTimeout = TimeSpan.FromHours(1));
        services.AddSingleton(sp => new ScaleOutPublisher(sp.GetRequiredService<ChangeNotifier>(), note));
        services.AddSingleton<LoadPublisher>(sp => sp.GetRequiredService<ScaleOutPublisher>());
    }

    public static void MapEndpoints(WebApplication app)
    {
        app.MapHeliosRealtime(RealtimeEndpointRouteBuilderExtensions.DefaultPattern);
        ScaleOutPublisher publisher = app.Services.GetRequiredService<ScaleOutPublisher>();
        ChangeNotifier notifier = app.Services.GetRequiredService<ChangeNotifier>();
        RedisChangeBackplane? backplane = app.Services.GetService<RedisChangeBackplane>();
        app.MapPost("/load/allow", (HttpRequest request) =>
        {
            publisher.Allow(long.TryParse(request.Query["upto"], NumberStyles.Integer, CultureInfo.InvariantCulture, out long upto) ? upto : -1);
            return Results.Ok();
        });
        app.MapGet("/load/scaleout", () => Results.Json(new ScaleOutNodeStats
        {
            RingSequence = notifier.LastSequence,
            KnownSequence = notifier.KnownSequence,
            Readers = notifier.SubscriberCount,
            Redis = backplane is not null,
            Connected = backplane?.IsConnected ?? false,
            Appends = backplane?.Appends ?? 0,
            Reads = backplane?.Reads ?? 0,
            Lag = backplane?.Lag ?? 0,
            OutboxDepth = backplane?.OutboxDepth ?? 0,
            Dropped = backplane?.DroppedChanges ?? 0,
            LostPositions = backplane?.LostPositions ?? 0,
        }));
    }
}

/// <summary>What <c>GET /load/scaleout</c> returns: one node's ring and backplane counters.</summary>
internal sealed record ScaleOutNodeStats
{
    /// <summary>The last position published into this node's ring (with Redis: the shared log's sequence).</summary>
    public long RingSequence { get; init; }

    public long KnownSequence { get; init; }

    /// <summary>Ring readers, one per open WebSocket connection.</summary>
    public int Readers { get; init; }

    public bool Redis { get; init; }

    public bool Connected { get; init; }

    /// <summary>Append script calls this node made (one per batch of changes, heliosnano.realtime.redis.appends).</summary>
    public long Appends { get; init; }

    /// <summary>Stream reads this node's tail loop made (heliosnano.realtime.redis.reads).</summary>
    public long Reads { get; init; }

    public long Lag { get; init; }

    public int OutboxDepth { get; init; }

    public long Dropped { get; init; }

    public long LostPositions { get; init; }
}
