namespace HeliosNano.Realtime.WebSockets;

/// <summary>Counts an endpoint's open connections against <see cref="RealtimeWebSocketOptions.MaxConnections"/>. Thread-safe.</summary>
internal sealed class RealtimeConnectionLimiter
{
    /// <summary>The refusal's <c>error</c>, Supabase's wording for the same limit (its HTTP 429 at connect).</summary>
    public const string RefusalMessage = "Too many connected users";

    private readonly int _max;
    private int _count;

    public RealtimeConnectionLimiter(int max) => _max = max;

    /// <summary>Gets the connections held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Takes a slot; <see langword="false"/> when the endpoint is full (nothing taken).</summary>
    public bool TryAcquire()
    {
        // Increment first and undo on overflow: one atomic step, no lock, never above the limit for long.
        if (Interlocked.Increment(ref _count) <= _max)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    /// <summary>Gives back a slot taken by <see cref="TryAcquire"/>.</summary>
    public void Release() => Interlocked.Decrement(ref _count);
}
