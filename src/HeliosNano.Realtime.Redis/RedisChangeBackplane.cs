using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// The Redis backplane of one application instance (a node): it appends the changes committed here to one Redis stream
/// shared by every node, and feeds this node's ring from that stream, so every node delivers the same changes in the same
/// order with the same sequence numbers.
/// </summary>
/// <remarks>
/// <para>
/// <b>Append.</b> <see cref="Submit"/> (the commit path) encodes the change and puts it in a bounded outbox; it never
/// waits for Redis. One pump sends the outbox in batches, each one script call that numbers the changes (the stream ID
/// is the sequence: <c>&lt;seq&gt;-0</c>) and publishes a wake-up. Changes that do not fit in the outbox are counted and
/// appended as one gap entry before the next change, so every node reports them as a lag of N at the same point.
/// </para>
/// <para>
/// <b>Tail.</b> One loop per node is the only writer of its ring (<see cref="SequencedChangeWriter"/>): it reads the
/// stream from the last position it published on each wake-up and at least every
/// <see cref="RedisBackplaneOptions.ProbeInterval"/> (a lost wake-up or a dropped subscription only delays it), and
/// publishes each entry at its position; positions the stream no longer holds are published as lost. At start-up it
/// reads back the newest ring-full of entries. Changes made on this node reach its own clients through the log too: one
/// order for everyone.
/// </para>
/// <para>
/// <b>Replay.</b> The backplane is also the <see cref="IChangeHistory"/> (<see cref="ReadAsync"/>): a client that resumes
/// with a <c>last_seq</c> older than this node's ring is given the missing changes from the log, as long as it holds
/// them (about <see cref="RedisBackplaneOptions.LogLength"/> entries), then the exact lag of what it no longer holds.
/// Without this package a replay comes from the ring alone.
/// </para>
/// <para>
/// <b>Epoch.</b> See <see cref="RedisLogScripts.Append"/>: after a restart, a failover or lost data the sequence jumps
/// by <see cref="RedisBackplaneOptions.EpochSequenceGap"/>, so no number ever means two changes; the jump reaches
/// clients as lag.
/// </para>
/// </remarks>
[DebuggerDisplay("Node = {NodeId,nq}, Connected = {IsConnected}, Outbox = {OutboxDepth}")]
public sealed partial class RedisChangeBackplane : IChangeSequencer, IAsyncDisposable
{
    private readonly RedisBackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RedisOutbox _outbox;
    private readonly RedisBackplaneMetrics _metrics;
    private readonly RedisKey[] _appendKeys;
    private readonly RedisKey _logKey;
    private readonly RedisChannel _wakeChannel;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<bool> _queued = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<(string Schema, string Table), (byte[] Json, ChangeColumn[] Columns)> _columns = [];

    private SequencedChangeWriter? _writer;
    private ConnectionMultiplexer? _connection;
    private Task _pump = Task.CompletedTask;
    private Task _tail = Task.CompletedTask;
    private volatile bool _connected;
    private volatile string? _epoch;
    private long _maxSeen;
    private long _epochChanges;
    private long _gapPositions;
    private long _appends;
    private long _reads;
    private int _subscribed;

    /// <summary>Initializes a backplane; it does nothing until a notifier attaches it and <see cref="StartAsync"/> runs.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">The logger; <see langword="null"/> for none.</param>
    /// <param name="meterFactory">The factory of the <c>HeliosNano.Realtime</c> meter; <see langword="null"/> for a private meter.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> for the system clock.</param>
    public RedisChangeBackplane(IOptions<RedisBackplaneOptions> options, ILogger<RedisChangeBackplane>? logger = null, IMeterFactory? meterFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        ArgumentException.ThrowIfNullOrEmpty(_options.Configuration, "options.Configuration");
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _outbox = new RedisOutbox(_options.OutboxCapacity, _options.OutboxMaxBytes, _time);
        _outbox.ItemQueued += () => _queued.Writer.TryWrite(true);
        string prefix = "{" + _options.Prefix + "}";
        KeyPrefix = prefix;
        _logKey = prefix + ":log";
        _appendKeys = [prefix + ":meta", _logKey, prefix + ":node:" + NodeId];
        _wakeChannel = RedisChannel.Literal(prefix + ":wake");
        _metrics = new RedisBackplaneMetrics(this, meterFactory);
    }

    /// <summary>Gets the prefix of this backplane's keys and channels, with its hash tag: <c>{prefix}</c>.</summary>
    internal string KeyPrefix { get; }

    /// <summary>Gets the options.</summary>
    internal RedisBackplaneOptions Options => _options;

    /// <summary>Gets the connection once <see cref="StartAsync"/> made it.</summary>
    internal ConnectionMultiplexer? Connection => _connection;

    /// <summary>Channels other parts subscribe to through this backplane's connection, and whether the subscription went through.</summary>
    private readonly List<(RedisChannel Channel, Action<RedisChannel, RedisValue> Handler, bool Done)> _subscriptions = [];

    /// <summary>Subscribes <paramref name="handler"/> to <paramref name="channel"/> as soon as Redis answers (the tail loop retries it); messages are handled in order.</summary>
    internal void AddSubscription(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        lock (_subscriptions)
        {
            _subscriptions.Add((channel, handler, false));
        }

        _wake.Writer.TryWrite(true);
    }

    private async Task SubscribePendingAsync()
    {
        (RedisChannel Channel, Action<RedisChannel, RedisValue> Handler, bool Done)[] pending;
        lock (_subscriptions)
        {
            pending = [.. _subscriptions.Where(s => !s.Done)];
        }

        foreach ((RedisChannel channel, Action<RedisChannel, RedisValue> handler, _) in pending)
        {
            // A message queue, not a bare handler: its messages are handled one at a time, in the order received.
            ChannelMessageQueue queue = await _connection!.GetSubscriber().SubscribeAsync(channel).ConfigureAwait(false);
            queue.OnMessage(message => handler(message.Channel, message.Message));
            lock (_subscriptions)
            {
                int index = _subscriptions.FindIndex(s => s.Channel == channel && s.Handler == handler);
                _subscriptions[index] = (channel, handler, true);
            }
        }
    }

    /// <summary>Gets this node's identity in Redis (a new one per process).</summary>
    public string NodeId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Gets whether the last Redis operation succeeded.</summary>
    public bool IsConnected => _connected;

    /// <summary>Gets how many changes (and gap entries) wait in the outbox for Redis.</summary>
    public int OutboxDepth => _outbox.Depth;

    /// <summary>Gets how long the oldest change in the outbox has waited.</summary>
    public TimeSpan OldestBufferedAge => _outbox.OldestAge;

    /// <summary>Gets how many locally committed changes were dropped because the outbox was full (each reported as lag).</summary>
    public long DroppedChanges => _outbox.DroppedTotal;

    /// <summary>Gets whether changes are being dropped right now.</summary>
    public bool IsDropping => _outbox.IsDropping;

    /// <summary>Gets the log's current epoch as this node last saw it, or <see langword="null"/> before the first read.</summary>
    public string? Epoch => _epoch;

    /// <summary>Gets how many epoch changes this node has seen in the log since it started.</summary>
    public long EpochChanges => Interlocked.Read(ref _epochChanges);

    /// <summary>Gets how many positions this node published as lost (gaps, trimmed entries, epoch jumps).</summary>
    public long LostPositions => Interlocked.Read(ref _gapPositions);

    /// <summary>Gets how many append script calls succeeded (one per batch of changes).</summary>
    public long Appends => Interlocked.Read(ref _appends);

    /// <summary>Gets how many stream reads this node made.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Gets how far this node's ring is behind the highest position it knows the log holds.</summary>
    public long Lag => _writer is { } writer ? Math.Max(0, Interlocked.Read(ref _maxSeen) - writer.LastSequence) : 0;

    /// <summary>Gets the last position published into this node's ring.</summary>
    public long LastSequence => _writer?.LastSequence ?? 0;

    /// <inheritdoc/>
    public void Attach(SequencedChangeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (Interlocked.CompareExchange(ref _writer, writer, null) is not null)
        {
            throw new InvalidOperationException("This backplane already feeds a notifier.");
        }
    }

    /// <inheritdoc/>
    public void Submit(ChangeEvent change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!_outbox.TryAdd(RedisLogEntry.Encode(change)))
        {
            Log.Dropped(_logger, change.Schema, change.Table);
        }
    }

    /// <inheritdoc/>
    public void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp) => _outbox.TryAddLost(1);

    /// <summary>Connects to Redis and starts the append pump and the tail loop; returns without waiting for Redis to answer.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the loops run.</returns>
    /// <exception cref="InvalidOperationException">No notifier attached this backplane.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            throw new InvalidOperationException("No notifier uses this backplane: call ChangeNotifier.UseSequencer (AddRedisBackplane does it).");
        }

        ConfigurationOptions configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false; // start (and buffer writes) while Redis is down
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // the outbox is the buffer; a command never waits for a reconnect
        configuration.ClientName ??= "heliosnano-" + NodeId[..8];
        _connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        _connection.ConnectionFailed += (_, e) => { _connected = false; Log.ConnectionFailed(_logger, e.FailureType, e.Exception?.Message); };
        _connection.ConnectionRestored += (_, _) => { Log.ConnectionRestored(_logger); _wake.Writer.TryWrite(true); };
        _tail = Task.Run(() => TailAsync(_stopping.Token), CancellationToken.None);
        _pump = Task.Run(() => PumpAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Waits (up to <see cref="RedisBackplaneOptions.ShutdownDrainTimeout"/>) for the outbox to drain, then stops the loops.</summary>
    /// <param name="cancellationToken">Ends the wait for the outbox early.</param>
    /// <returns>A task that completes when the loops ended.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        long deadline = _time.GetTimestamp();
        while (_outbox.Depth > 0 && _connected && _time.GetElapsedTime(deadline) < _options.ShutdownDrainTimeout && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, CancellationToken.None).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pump, _tail).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_pump, _tail).ConfigureAwait(false);
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        _metrics.Dispose();
        _stopping.Dispose();
    }

    private void MarkConnected()
    {
        if (!_connected)
        {
            _connected = true;
            Log.Connected(_logger, NodeId);
        }
    }

    private void MarkFailed(string operation, Exception ex)
    {
        if (_connected)
        {
            _connected = false;
        }

        Log.OperationFailed(_logger, operation, ex.GetType().Name, ex.Message);
    }

    private void ReportTop(long top)
    {
        long seen = Interlocked.Read(ref _maxSeen);
        while (top > seen)
        {
            long previous = Interlocked.CompareExchange(ref _maxSeen, top, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }

        _writer?.ReportKnownSequence(top);
    }

    private static TimeSpan NextBackoff(TimeSpan backoff) => TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(50, backoff.TotalMilliseconds * 2)));
}
