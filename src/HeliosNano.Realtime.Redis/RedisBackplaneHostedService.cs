using Microsoft.Extensions.Hosting;

namespace HeliosNano.Realtime.Redis;

/// <summary>Starts the backplane with the host; resolving the notifier first attaches the backplane to it.</summary>
internal sealed class RedisBackplaneHostedService(ChangeNotifier notifier, RedisChangeBackplane backplane) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(notifier.Sequencer, backplane))
        {
            throw new InvalidOperationException("The ChangeNotifier was not created by AddHeliosRealtime, so the Redis backplane is not attached to it.");
        }

        return backplane.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => backplane.StopAsync(cancellationToken);
}
