using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>A group of load clients of one target, opened with bounded concurrency, with summed counters.</summary>
internal sealed class ClientFleet
{
    private readonly ServerProcess _server;
    private readonly List<LoadConnection> _connections = [];
    private int _nextId;

    public ClientFleet(ServerProcess server) => _server = server;

    public LatencyHistogram Latency { get; } = new();

    public IReadOnlyList<LoadConnection> Connections => _connections;

    public int Count => _connections.Count;

    /// <summary>
    /// Opens <paramref name="count"/> more clients, at most <paramref name="concurrency"/> handshakes at once, each
    /// subscribed before this returns. <paramref name="plan"/>, when given, chooses each WebSocket client's URL and join
    /// frame by its id (per-client tokens and filters); otherwise every client joins as the server's scenario does.
    /// </summary>
    public async Task AddAsync(int count, int concurrency, bool stuck, string label, CancellationToken cancellationToken, Func<int, ClientPlan>? plan = null)
    {
        var created = new (LoadConnection Connection, Uri Uri)[count];
        byte[]? join = !_server.Target.StartsWith("helios", StringComparison.Ordinal) ? null
            : _server.Scenario == "broadcast" ? BroadcastPayload.JoinFrame
            : WebSocketLoadConnection.ChangesJoinFrame;
        for (int i = 0; i < count; i++)
        {
            int id = _nextId++;
            ClientPlan? planned = plan?.Invoke(id);
            created[i] = _server.Target == "signalr"
                ? (new SignalRLoadConnection(id, Latency), _server.ClientUri)
                : (new WebSocketLoadConnection(id, Latency, planned?.Join ?? join, stuck), planned?.Uri ?? _server.ClientUri);
        }

        int opened = 0;
        using var progress = LoadOutput.Every(TimeSpan.FromSeconds(1), () => $"{label}: connecting {Volatile.Read(ref opened)}/{count}");
        await Parallel.ForEachAsync(created, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (c, ct) =>
        {
            await c.Connection.ConnectAsync(c.Uri, ct);
            Interlocked.Increment(ref opened);
        });
        _connections.AddRange(created.Select(c => c.Connection));

        // Gap accounting starts where the server's sequence stands now (sequences continue across passes).
        ServerStats stats = await _server.GetStatsAsync(false, cancellationToken);
        if (!stats.Publishing)
        {
            foreach ((LoadConnection c, _) in created)
            {
                c.StartAfter(stats.LastSequence);
            }
        }
    }

    public FleetTotals Totals()
    {
        var t = new FleetTotals();
        foreach (LoadConnection c in _connections)
        {
            t.Received += Volatile.Read(ref c.Received);
            t.Lagged += Volatile.Read(ref c.Lagged);
            t.Gaps += Volatile.Read(ref c.Gaps);
            t.OutOfOrder += Volatile.Read(ref c.OutOfOrder);
            t.Foreign += Volatile.Read(ref c.Foreign);
            t.Bytes += Volatile.Read(ref c.Bytes);
            t.LastReceiveTicks = Math.Max(t.LastReceiveTicks, Volatile.Read(ref c.LastReceiveTicks));
            t.Open += c.IsOpen ? 1 : 0;
            t.Faulted += c.Faulted ? 1 : 0;
        }

        return t;
    }

    /// <summary>
    /// Waits until every client has received or been told it lost <paramref name="expected"/> changes in total, or
    /// until nothing moved for <paramref name="idle"/>; returns the final totals.
    /// </summary>
    public async Task<FleetTotals> DrainAsync(FleetTotals before, long expected, TimeSpan idle, string label, CancellationToken cancellationToken)
    {
        long lastProgress = Stopwatch.GetTimestamp();
        long lastSeen = -1;
        while (true)
        {
            FleetTotals now = Totals() - before;
            long accounted = now.Received + now.Lagged;
            if (accounted >= expected)
            {
                return now;
            }

            if (accounted != lastSeen)
            {
                lastSeen = accounted;
                lastProgress = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > idle)
            {
                LoadOutput.Line($"{label}: drain stalled at {accounted:N0}/{expected:N0}");
                return now;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public async Task CloseAllAsync(int concurrency)
    {
        await Parallel.ForEachAsync(_connections, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (c, ct) => await c.CloseAsync(ct));
    }

    public void AbortAll()
    {
        foreach (LoadConnection c in _connections)
        {
            c.Abort();
        }
    }

    public void Clear() => _connections.Clear();
}

/// <summary>One WebSocket client's endpoint (with its token, say) and join frame.</summary>
internal sealed record ClientPlan(Uri Uri, byte[] Join);

/// <summary>Summed client counters (subtract two to get one phase).</summary>
internal struct FleetTotals
{
    public long Received;
    public long Lagged;
    public long Gaps;
    public long OutOfOrder;
    public long Foreign;
    public long Bytes;
    public long LastReceiveTicks;
    public int Open;
    public int Faulted;

    public static FleetTotals operator -(FleetTotals a, FleetTotals b) => new()
    {
        Received = a.Received - b.Received,
        Lagged = a.Lagged - b.Lagged,
        Gaps = a.Gaps - b.Gaps,
        OutOfOrder = a.OutOfOrder - b.OutOfOrder,
        Foreign = a.Foreign - b.Foreign,
        Bytes = a.Bytes - b.Bytes,
        LastReceiveTicks = a.LastReceiveTicks,
        Open = a.Open,
        Faulted = a.Faulted,
    };
}
