namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    private readonly RealtimeAuthExtension _auth;

    /// <summary>Set by a channel's expiry timer (any thread), cleared by the connection loop before it checks.</summary>
    private int _authCheckDue;

    private bool IsAuthCheckDue => Volatile.Read(ref _authCheckDue) != 0;

    /// <summary>Asks the connection loop to check the channels whose token timer fired. Thread-safe, never blocks.</summary>
    internal void RequestAuthCheck()
    {
        Volatile.Write(ref _authCheckDue, 1);
        Wake();
    }

    /// <summary>Re-reads the channels' tables after the auth part ended a channel.</summary>
    internal void OnChannelRemoved() => _postgres.OnChannelsChanged();

    private async ValueTask<bool> RunAuthChecksAsync()
    {
        if (Interlocked.Exchange(ref _authCheckDue, 0) == 0)
        {
            return false;
        }

        await _auth.RunDueChecksAsync().ConfigureAwait(false);
        return true;
    }
}
