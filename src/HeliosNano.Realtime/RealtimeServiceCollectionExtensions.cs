using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime;

/// <summary>Registers HeliosNano.Realtime in an <see cref="IServiceCollection"/>.</summary>
public static class RealtimeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="ChangeNotifier"/> as a singleton, with its options validated at start-up, its logger and
    /// its metrics on the <c>HeliosNano.Realtime</c> meter. Calling it again only adds <paramref name="configure"/>.
    /// When an <see cref="IChangeSequencer"/> is registered (a scale-out backplane), it is attached to the notifier
    /// (<see cref="ChangeNotifier.UseSequencer"/>) as soon as the notifier is created.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options; <see langword="null"/> for the defaults (1024 changes).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddHeliosRealtime(this IServiceCollection services, Action<ChangeNotifierOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<ChangeNotifierOptions> options = services.AddOptions<ChangeNotifierOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChangeNotifierOptions>, ChangeNotifierOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp =>
        {
            var notifier = new ChangeNotifier(
                sp.GetRequiredService<IOptions<ChangeNotifierOptions>>(),
                sp.GetService<ILogger<ChangeNotifier>>(),
                sp.GetService<IMeterFactory>(),
                sp.GetService<TimeProvider>());
            // A registered sequencer (a scale-out backplane) numbers the changes from the first one on.
            if (sp.GetService<IChangeSequencer>() is IChangeSequencer sequencer)
            {
                notifier.UseSequencer(sequencer);
            }

            return notifier;
        });
        return services;
    }
}
