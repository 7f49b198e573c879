using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>Registers the realtime WebSocket options and metrics.</summary>
public static class RealtimeWebSocketServiceCollectionExtensions
{
    /// <summary>
    /// Configures <see cref="RealtimeWebSocketOptions"/> for every endpoint mapped with
    /// <see cref="RealtimeEndpointRouteBuilderExtensions.MapHeliosRealtime"/>, and shares one set of metrics between
    /// them, and one topic registry (which channels are on which topic) between all their connections. Optional: mapping
    /// works without it, but <see cref="RealtimeBroadcaster"/> (broadcasts from application code), <see cref="RealtimePresence"/> (who is
    /// present on a topic) and
    /// <see cref="RealtimeEndpointRouteBuilderExtensions.MapHeliosRealtimeBroadcast"/> need it. Calling it again only
    /// adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options; <see langword="null"/> keeps the defaults.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddHeliosRealtimeWebSockets(this IServiceCollection services, Action<RealtimeWebSocketOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RealtimeWebSocketOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddMetrics();
        services.TryAddSingleton(static sp => new RealtimeWebSocketMetrics(sp.GetService<IMeterFactory>()));

        // The topic seam: a backplane registers its own RealtimeTopicManager before this call to replace the default.
        services.TryAddSingleton<RealtimeTopicManager, DefaultRealtimeTopicManager>();
        services.TryAddSingleton(static sp => new RealtimePresenceTracker(sp.GetRequiredService<RealtimeTopicManager>(), sp.GetService<IRealtimePresenceReplica>()));
        services.TryAddSingleton(static sp => new RealtimeBroadcaster(sp.GetRequiredService<RealtimeTopicManager>()));
        services.TryAddSingleton(static sp => new RealtimePresence(sp.GetRequiredService<RealtimePresenceTracker>()));
        return services;
    }
}
