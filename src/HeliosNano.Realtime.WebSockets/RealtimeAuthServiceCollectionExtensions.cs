using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>Registers the auth helpers of the realtime endpoint.</summary>
public static class RealtimeAuthServiceCollectionExtensions
{
    /// <summary>
    /// Replaces <c>?apikey=</c> and <c>?token=</c> in every request's URL with <c>redacted</c> before the hosting layer
    /// logs it, so a token a browser had to put in the WebSocket URL never reaches a log; the endpoint and
    /// <see cref="RealtimeAccessToken"/> still read the original values.
    /// </summary>
    /// <remarks>It decorates <see cref="IHttpContextFactory"/> (the only hook that runs before the request log); a host with its own factory should do the same there.</remarks>
    /// <param name="services">The services.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddHeliosRealtimeQueryTokenRedaction(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IHttpContextFactory>(static sp => new RealtimeQueryTokenRedaction(sp));
        return services;
    }
}
