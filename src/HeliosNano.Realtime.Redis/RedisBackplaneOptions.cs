namespace HeliosNano.Realtime.Redis;

/// <summary>Options of the Redis backplane (<see cref="RedisBackplaneServiceCollectionExtensions.AddRedisBackplane(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Action{RedisBackplaneOptions}?)"/>).</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>The default of <see cref="Prefix"/>.</summary>
    public const string DefaultPrefix = "heliosnano";

    /// <summary>The default of <see cref="LogLength"/>: 16,384 changes (about 4–10 MB of Redis memory at 200–500 B rows).</summary>
    public const int DefaultLogLength = 16_384;

    /// <summary>The default of <see cref="OutboxCapacity"/>: 4,096 changes.</summary>
    public const int DefaultOutboxCapacity = 4_096;

    /// <summary>The default of <see cref="OutboxMaxBytes"/>: 4 MiB.</summary>
    public const long DefaultOutboxMaxBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The default of <see cref="EpochSequenceGap"/>: 1,048,576, sixteen times the appends one Redis instance takes in a
    /// second on a 2-vCPU machine (about 62,000/s measured), so it exceeds what a node can have seen beyond what a
    /// restarted Redis still holds with <c>appendfsync everysec</c> (at most one second of writes).
    /// </summary>
    public const long DefaultEpochSequenceGap = 1L << 20;

    /// <summary>Gets or sets the StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>
    /// Gets or sets the prefix of the Redis keys and channel (<c>{prefix}:log</c>, <c>{prefix}:meta</c>,
    /// <c>{prefix}:wake</c>, in one Redis Cluster hash slot); instances that share it share one order of changes. The
    /// default is <c>heliosnano</c>.
    /// </summary>
    public string Prefix { get; set; } = DefaultPrefix;

    /// <summary>
    /// Gets or sets about how many entries the Redis stream keeps (<c>XADD MAXLEN ~</c>, so at least this many): how far
    /// a node may fall behind (paused, disconnected) and still catch up without a gap, and how far back a client can
    /// resume with <c>last_seq</c> on any node and get exactly what it missed (older positions are reported as the exact
    /// lag of N). Keep it at least the ring's capacity, which a node starting up reads back. The default is 16,384.
    /// </summary>
    public int LogLength { get; set; } = DefaultLogLength;

    /// <summary>
    /// Gets or sets how many locally committed changes wait for Redis at most; past it (or <see cref="OutboxMaxBytes"/>)
    /// changes are dropped, counted, and appended as one gap entry once Redis takes writes again, so every client on
    /// every node is told "lag of N" at the same point. The default is 4,096.
    /// </summary>
    public int OutboxCapacity { get; set; } = DefaultOutboxCapacity;

    /// <summary>Gets or sets how many bytes of encoded changes the outbox holds at most. The default is 4 MiB.</summary>
    public long OutboxMaxBytes { get; set; } = DefaultOutboxMaxBytes;

    /// <summary>Gets or sets how many changes one append (one script call) carries at most. The default is 256.</summary>
    public int MaxAppendBatch { get; set; } = 256;

    /// <summary>Gets or sets how many entries one read of the stream returns at most (the tail loop's, and each history read of a replay beyond the ring). The default is 512.</summary>
    public int ReadBatch { get; set; } = 512;

    /// <summary>
    /// Gets or sets how often a node reads the stream even without a wake-up message (a lost pub/sub message, a
    /// subscription Redis dropped). The default is 1 second.
    /// </summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how far the sequence jumps when the log starts a new epoch (first use, a Redis restart or failover,
    /// lost data), so that no sequence number a node has already delivered is ever given to another change. Clients
    /// that resume across the jump are told the skipped positions as lag. The default is 1,048,576.
    /// </summary>
    public long EpochSequenceGap { get; set; } = DefaultEpochSequenceGap;

    /// <summary>
    /// Gets or sets how long a node's presence heartbeat key lives in Redis: a node refreshes it (and sweeps) every third
    /// of this, so the users tracked on a node that died without leaving (<c>kill -9</c>, a lost host) leave on every
    /// other node within this timeout plus a third. The default is 15 seconds, as Phoenix.Tracker's heartbeat.
    /// </summary>
    public TimeSpan PresenceNodeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how long <c>StopAsync</c> waits for the outbox to drain into Redis. The default is 2 seconds.</summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
