namespace HeliosNano.Realtime.LoadTest;

/// <summary>What one publish pass of one scaleout configuration measured (one row of the results).</summary>
internal sealed record ScaleOutPass
{
    public int Round { get; init; }

    /// <summary>The configuration: "1 node", "1 node + Redis" or "cluster".</summary>
    public string Config { get; init; } = "";

    public int Nodes { get; init; }

    public bool Redis { get; init; }

    public string Mode { get; init; } = "";

    public double Rate { get; init; }

    public int Connections { get; init; }

    public long Published { get; init; }

    public long Expected { get; init; }

    public long Received { get; init; }

    public long Lagged { get; init; }

    /// <summary>Expected deliveries neither received nor reported as lag, over every client of every node (must be 0).</summary>
    public long Unaccounted => Expected - Received - Lagged;

    public long Gaps { get; init; }

    public long OutOfOrder { get; init; }

    public double Seconds { get; init; }

    public double DeliveredPerSecond => Seconds > 0 ? Received / Seconds : 0;

    /// <summary>Notify → receive at clients of the publishing node.</summary>
    public LatencySummary SameNode { get; init; }

    /// <summary>Notify → receive at clients of every other node (none on a single node).</summary>
    public LatencySummary OtherNodes { get; init; }

    public long NotifyP99Ns { get; init; }

    /// <summary>CPU of this configuration's server processes (all nodes).</summary>
    public TimeSpan ServerCpu { get; init; }

    public TimeSpan RedisCpu { get; init; }

    public TimeSpan ClientCpu { get; init; }

    public double ServerCpuPerMessageUs => Received == 0 ? 0 : ServerCpu.TotalMilliseconds * 1000 / Received;

    public double RedisCpuPerChangeUs => Published == 0 ? 0 : RedisCpu.TotalMilliseconds * 1000 / Published;

    /// <summary>Append script calls of every node of this configuration (the backplane's own counter).</summary>
    public long Appends { get; init; }

    /// <summary>Stream reads per node of this configuration (the backplane's own counter), in node order.</summary>
    public IReadOnlyList<long> ReadsPerNode { get; init; } = [];

    public double AppendsPerChange => Published == 0 ? 0 : Appends / (double)Published;

    /// <summary>The highest reads-per-change of any node.</summary>
    public double ReadsPerNodePerChange => Published == 0 || ReadsPerNode.Count == 0 ? 0 : ReadsPerNode.Max() / (double)Published;

    /// <summary>Everything the Redis server executed during the pass (all configurations, including idle nodes' probes).</summary>
    public RedisCommandStats? Commands { get; init; }

    public double OtherCores { get; init; }

    public bool NothingLost => Unaccounted == 0 && Lagged == 0 && Gaps == 0 && OutOfOrder == 0;

    public string Describe() =>
        $"{Config} ({Nodes} node(s), {Connections:N0} conns) {Mode}: published {Published:N0}, expected {Expected:N0}, received {Received:N0}, lagged {Lagged:N0}, "
        + $"unaccounted {Unaccounted:N0}, gaps {Gaps:N0}, out of order {OutOfOrder:N0}\n"
        + $"    delivered {DeliveredPerSecond:N0} msg/s over {Seconds:0.00} s; latency same node {SameNode}, other nodes {OtherNodes}; publish call p99 {NotifyP99Ns / 1000.0:0.0} µs\n"
        + $"    server CPU {ServerCpu.TotalSeconds:0.00} s ({ServerCpuPerMessageUs:0.00} µs/msg), redis CPU {RedisCpu.TotalSeconds:0.00} s ({RedisCpuPerChangeUs:0.0} µs/change), client CPU {ClientCpu.TotalSeconds:0.00} s; other processes used {OtherCores:0.00} cores\n"
        + (Redis ? $"    appends {Appends:N0} ({AppendsPerChange:0.000}/change), reads per node {string.Join(" / ", ReadsPerNode)} (max {ReadsPerNodePerChange:0.000}/change); redis commands: {Commands?.Describe()}" : "    no Redis");
}
