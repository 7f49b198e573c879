namespace HeliosNano.Realtime.LoadTest;

/// <summary>What <c>GET /load/stats</c> returns: the server's own view of a run (the tool adds /proc figures).</summary>
internal sealed record ServerStats
{
    public string Target { get; init; } = "";

    /// <summary>Connections subscribed to public.orders (helios: notifier.GetSubscriberCount; signalr: hub connections; raw: sockets).</summary>
    public int Subscribers { get; init; }

    /// <summary>Every ring reader (helios: notifier.SubscriberCount, one per open connection); other targets: connections.</summary>
    public int AllSubscribers { get; init; }

    public bool Publishing { get; init; }

    public long Published { get; init; }

    public long FirstSequence { get; init; }

    public long LastSequence { get; init; }

    /// <summary>Time of one publish call (Notify / Clients.All.SendAsync / the raw fan-out loop), in nanoseconds.</summary>
    public long NotifyCount { get; init; }

    public long NotifyP50Ns { get; init; }

    public long NotifyP99Ns { get; init; }

    public long NotifyMaxNs { get; init; }

    /// <summary>Frames the helios adapter built (its heliosnano.realtime.ws.change_frames.built counter); 0 elsewhere.</summary>
    public long FramesBuilt { get; init; }

    /// <summary>Changes the helios adapter reported as lagged (heliosnano.realtime.ws.changes.lagged); 0 elsewhere.</summary>
    public long LaggedChanges { get; init; }

    /// <summary>Row policy evaluations of the helios adapter (heliosnano.realtime.ws.row_policy.evaluations); 0 elsewhere.</summary>
    public long PolicyEvaluations { get; init; }

    /// <summary>GC.GetTotalMemory (after a forced full collection when asked with ?gc=1).</summary>
    public long ManagedBytes { get; init; }

    public long GcHeapBytes { get; init; }

    public long GcCommittedBytes { get; init; }

    public long WorkingSetBytes { get; init; }

    /// <summary>GC.GetTotalAllocatedBytes: the difference over a pass gives allocation per delivered message.</summary>
    public long AllocatedBytes { get; init; }

    public int Gen0Collections { get; init; }

    public int Gen2Collections { get; init; }

    public int ThreadPoolThreads { get; init; }

    /// <summary>The server's CPU time so far in microseconds (<see cref="Environment.CpuUsage"/>: finer than /proc's 10 ms ticks).</summary>
    public long CpuMicroseconds { get; init; }
}
