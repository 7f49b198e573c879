using HeliosNano.Realtime.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Redis;

/// <summary>Registers the Redis backplane in an <see cref="IServiceCollection"/>.</summary>
public static class RedisBackplaneServiceCollectionExtensions
{
    /// <summary>
    /// Makes this instance one node of a cluster that shares one order of changes through Redis:
    /// <c>services.AddHeliosRealtime().AddRedisBackplane("localhost:6379")</c>. Registers the
    /// <see cref="RedisChangeBackplane"/> as the notifier's <see cref="IChangeSequencer"/> and as the
    /// <see cref="IChangeHistory"/> that serves replays older than the ring from the log, a hosted service that runs
    /// it, a health check named <c>heliosnano-redis</c>, and a topic manager that carries broadcasts to every node
    /// (at most once, as SignalR's backplane) and presence across nodes (Redis holds every node's tracked users; a dead
    /// node's leave within <see cref="RedisBackplaneOptions.PresenceNodeTimeout"/> and a third).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</param>
    /// <param name="configure">Configures further options; <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRedisBackplane(this IServiceCollection services, string configuration, Action<RedisBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        services.AddHeliosRealtime();
        services.AddOptions<RedisBackplaneOptions>()
            .Configure(o =>
            {
                o.Configuration = configuration;
                configure?.Invoke(o);
            })
            .Validate(o => o.LogLength > 0 && o.OutboxCapacity > 0 && o.OutboxMaxBytes > 0 && o.MaxAppendBatch > 0 && o.ReadBatch > 0 && o.EpochSequenceGap > 0 && o.ProbeInterval > TimeSpan.Zero && o.PresenceNodeTimeout >= TimeSpan.FromMilliseconds(3), "Redis backplane sizes and intervals must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton(static sp => new RedisChangeBackplane(
            sp.GetRequiredService<IOptions<RedisBackplaneOptions>>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<RedisChangeBackplane>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetService<TimeProvider>()));
        services.TryAddSingleton<IChangeSequencer>(static sp => sp.GetRequiredService<RedisChangeBackplane>());
        services.TryAddSingleton<IChangeHistory>(static sp => sp.GetRequiredService<RedisChangeBackplane>());
        services.AddHostedService<RedisBackplaneHostedService>();

        // Broadcasts across nodes: replaces the in-process topic manager whether AddHeliosRealtimeWebSockets came first or not.
        services.RemoveAll<RealtimeTopicManager>();
        services.AddSingleton<RealtimeTopicManager>(static sp => new RedisRealtimeTopicManager(sp.GetRequiredService<RedisChangeBackplane>()));
        services.TryAddSingleton<IRealtimePresenceReplica>(static sp => ((RedisRealtimeTopicManager)sp.GetRequiredService<RealtimeTopicManager>()).Presence);
        services.AddHealthChecks().AddCheck<RedisBackplaneHealthCheck>("heliosnano-redis", HealthStatus.Unhealthy, ["heliosnano", "redis"]);
        return services;
    }
}
