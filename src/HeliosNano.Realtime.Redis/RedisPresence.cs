using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using HeliosNano.Realtime.WebSockets;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// Presence across nodes: Redis holds every node's tracked metas (the source of truth), each node replicates the
/// other nodes' metas into a local view for <c>presence_state</c> and delivers their <c>presence_diff</c>s to its own
/// members; a node that stops heartbeating has its metas removed by any survivor.
/// </summary>
/// <remarks>
/// <para>
/// <b>Own changes.</b> The local tracker's diffs (made and sent under the topic's lock, in state order) reach
/// <see cref="OnLocalDiff"/>, which updates a mirror of this node's metas and issues one <see cref="RedisPresenceScripts.Write"/>
/// under one lock, so Redis applies them in the order the node made them. The diff is not sent again locally.
/// </para>
/// <para>
/// <b>Others' changes.</b> Every script numbers its change and publishes it. One loop applies the published changes
/// in number order to the view (ignoring its own), and sends only what changes the view (a join of a ref already there
/// or a leave of a ref not there is dropped) as one diff per topic, under the view's lock. A gap in the numbers (a lost
/// message, a re-subscription), a change numbered before the previous probe and still not applied (a lost last
/// message) or a counter below the last applied number (a Redis that restarted without its data) makes the loop read
/// the hash and the counter together and send the difference with its view: it heals by itself.
/// </para>
/// <para>
/// <b>Dead nodes.</b> Each node sets its heartbeat key (TTL <see cref="RedisBackplaneOptions.PresenceNodeTimeout"/>)
/// every third of the timeout, and sweeps: one atomic script removes the metas of every node whose key expired and
/// publishes their leaves, so a killed node's users leave everywhere within the timeout plus one third. A heartbeat per
/// node, not an expiry per meta, keeps the steady cost at a few commands per node per interval whatever the number of
/// users. A node that finds its own key gone (it was unreachable past the timeout, or Redis lost its data) or whose
/// writes failed reconciles: one script makes Redis hold exactly its mirror and publishes the difference.
/// </para>
/// <para>
/// Like Phoenix.Tracker, every node holds every topic's presence; the hash is read whole at start-up and on a resync.
/// </para>
/// </remarks>
internal sealed partial class RedisPresence : IRealtimePresenceReplica, IAsyncDisposable
{
    private readonly RedisChangeBackplane _backplane;
    private readonly DefaultRealtimeTopicManager _local;
    private readonly TimeSpan _timeout;
    private readonly RedisKey[] _keys;
    private readonly RedisKey _alive;
    private readonly RedisKey _counter;
    private readonly string _alivePrefix;
    private readonly RedisChannel _channel;
    private readonly Channel<byte[]?> _inbox = Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();

    private readonly Lock _issueGate = new();
    private readonly Dictionary<string, string> _mirror = new(StringComparer.Ordinal);
    private int _dirty;

    private readonly Lock _viewGate = new();
    private readonly Dictionary<string, Dictionary<string, Remote>> _view = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Remote> _byRef = new(StringComparer.Ordinal);
    private long _last = -1;

    private readonly Task _process;
    private readonly Task _maintain;

    public RedisPresence(RedisChangeBackplane backplane, DefaultRealtimeTopicManager local, TimeSpan nodeTimeout)
    {
        _backplane = backplane;
        _local = local;
        _timeout = nodeTimeout;
        string prefix = backplane.KeyPrefix + ":presence";
        _counter = prefix + ":seq";
        _alivePrefix = prefix + ":alive:";
        _alive = _alivePrefix + backplane.NodeId;
        _keys = [prefix, _counter, prefix + ":nodes", _alive];
        _channel = RedisChannel.Literal(prefix);
        backplane.AddSubscription(_channel, (_, value) => _inbox.Writer.TryWrite((byte[]?)value));
        _process = Task.Run(() => ProcessAsync(_stop.Token), CancellationToken.None);
        _maintain = Task.Run(() => MaintainAsync(_stop.Token), CancellationToken.None);
    }

    private string NodeId => _backplane.NodeId;

    /// <inheritdoc/>
    public IReadOnlyList<RealtimeRemotePresence> GetRemote(string topic)
    {
        lock (_viewGate)
        {
            return _view.TryGetValue(topic, out Dictionary<string, Remote>? entries)
                ? [.. entries.Values.Select(e => new RealtimeRemotePresence(e.Key, e.Ref, e.Payload, e.Meta))]
                : [];
        }
    }

    /// <summary>Replicates one diff of the local tracker; called under the topic's lock, so in state order.</summary>
    public void OnLocalDiff(RealtimeBroadcastMessage message)
    {
        List<RedisValue> args = [NodeId, _channel.ToString(), ((long)_timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), 0];
        var leaves = new List<string>();
        using (JsonDocument diff = JsonDocument.Parse(message.Payload))
        {
            int joins = 0;
            foreach (JsonProperty key in diff.RootElement.GetProperty("joins"u8).EnumerateObject())
            {
                foreach (JsonElement meta in key.Value.GetProperty("metas"u8).EnumerateArray())
                {
                    string presenceRef = meta.GetProperty("phx_ref"u8).GetString()!;
                    args.Add(presenceRef);
                    args.Add(EncodeValue(message.Topic, message.IsPrivate, key.Name, presenceRef, meta));
                    joins++;
                }
            }

            args[3] = joins;
            foreach (JsonProperty key in diff.RootElement.GetProperty("leaves"u8).EnumerateObject())
            {
                foreach (JsonElement meta in key.Value.GetProperty("metas"u8).EnumerateArray())
                {
                    leaves.Add(meta.GetProperty("phx_ref"u8).GetString()!);
                }
            }
        }

        lock (_issueGate)
        {
            for (int i = 4; i < args.Count; i += 2)
            {
                _mirror[(string)args[i]!] = (string)args[i + 1]!;
            }

            foreach (string presenceRef in leaves)
            {
                _mirror.Remove(presenceRef);
                args.Add(presenceRef);
            }

            if (_backplane.Connection is { } connection)
            {
                _ = ObserveWriteAsync(connection.GetDatabase().ScriptEvaluateAsync(RedisPresenceScripts.Write, _keys, [.. args]));
            }
            else
            {
                MarkDirty();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_backplane.Connection is { IsConnected: true } connection)
        {
            try
            {
                // Leave at once on a clean stop rather than after the timeout.
                await ReconcileAsync(connection.GetDatabase(), leaving: true).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        await Task.WhenAll(_process, _maintain).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task ObserveWriteAsync(Task<RedisResult> write)
    {
        try
        {
            if ((int)await write.ConfigureAwait(false) == 1)
            {
                MarkDirty(); // our heartbeat key had expired: a sweep may have removed our other metas
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            MarkDirty();
        }
    }

    private void MarkDirty()
    {
        Volatile.Write(ref _dirty, 1);
        _signal.Writer.TryWrite(true);
    }

    /// <summary>Heartbeat, reconcile when needed, sweep dead nodes, probe the counter; every third of the timeout.</summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        long probedTop = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_backplane.Connection is { IsConnected: true } connection)
                {
                    IDatabase db = connection.GetDatabase();
                    bool dirty = Interlocked.Exchange(ref _dirty, 0) == 1;
                    bool alive = await db.StringSetAsync(_alive, "1", _timeout, When.Exists).ConfigureAwait(false);
                    if (dirty || !alive)
                    {
                        await ReconcileAsync(db, leaving: false).ConfigureAwait(false);
                    }

                    await db.ScriptEvaluateAsync(RedisPresenceScripts.Sweep, _keys[..3], [_alivePrefix, _channel.ToString()]).ConfigureAwait(false);
                    // Read everything again only when needed: nothing applied yet, a change numbered before the previous
                    // probe still not applied (lost messages), or a counter below what we applied (Redis lost its data).
                    RedisValue value = await db.StringGetAsync(_counter).ConfigureAwait(false);
                    long top = value.IsNull ? 0 : (long)value;
                    long last = Volatile.Read(ref _last);
                    if (last < 0 || last < probedTop || top < last)
                    {
                        _inbox.Writer.TryWrite(null); // resync, in order with the published changes
                    }

                    probedTop = top;
                }
                else
                {
                    Volatile.Write(ref _dirty, 1);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Volatile.Write(ref _dirty, 1);
            }

            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(_backplane.Connection is { IsConnected: true } ? _timeout / 3 : TimeSpan.FromMilliseconds(200));
                await _signal.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                _signal.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                // the interval elapsed, or we stop
            }
        }
    }

    private Task ReconcileAsync(IDatabase db, bool leaving)
    {
        Task<RedisResult> reconcile;
        lock (_issueGate)
        {
            // Issued under the lock that orders the writes, so no write issued before it is undone by a stale mirror.
            List<RedisValue> args = [NodeId, _channel.ToString(), leaving ? "0" : ((long)_timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)];
            if (!leaving)
            {
                foreach ((string presenceRef, string value) in _mirror)
                {
                    args.Add(presenceRef);
                    args.Add(value);
                }
            }

            reconcile = db.ScriptEvaluateAsync(RedisPresenceScripts.Reconcile, _keys, [.. args]);
        }

        return ObserveReconcileAsync(reconcile);

        async Task ObserveReconcileAsync(Task<RedisResult> task)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch
            {
                Volatile.Write(ref _dirty, 1);
                throw;
            }
        }
    }

    /// <summary>Applies the published changes in number order; a gap or a probe request reads the whole state again.</summary>
    private async Task ProcessAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (byte[]? item in _inbox.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (item is null)
                    {
                        await ResyncAsync().ConfigureAwait(false);
                        continue;
                    }

                    using JsonDocument document = JsonDocument.Parse(item);
                    JsonElement root = document.RootElement;
                    long number = root.GetProperty("s"u8).GetInt64();
                    if (number > _last + 1)
                    {
                        await ResyncAsync().ConfigureAwait(false); // a gap: the state read holds what we missed
                    }

                    if (number != _last + 1)
                    {
                        continue; // already in the state we hold
                    }

                    Volatile.Write(ref _last, number);
                    if (root.GetProperty("n"u8).GetString() != NodeId)
                    {
                        Apply([.. root.GetProperty("j"u8).EnumerateArray().Select(v => DecodeValue(v))], [.. root.GetProperty("l"u8).EnumerateArray().Select(r => r.GetString()!)], replace: false);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
                {
                    Volatile.Write(ref _last, -1); // unknown: the next message or probe reads the state again
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException)
                {
                    // Not ours, or from another version: ignore.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ResyncAsync()
    {
        ConnectionMultiplexer connection = _backplane.Connection ?? throw new InvalidOperationException("not connected yet");
        var result = (RedisResult[])(await connection.GetDatabase().ScriptEvaluateAsync(RedisPresenceScripts.Snapshot, _keys[..2]).ConfigureAwait(false))!;
        long top = long.Parse((string)result[0]!, CultureInfo.InvariantCulture);
        var fields = (RedisResult[])result[1]!;
        var entries = new List<Remote>(fields.Length / 2);
        for (int i = 1; i < fields.Length; i += 2)
        {
            using JsonDocument value = JsonDocument.Parse((string)fields[i]!);
            Remote entry = DecodeValue(value.RootElement);
            if (entry.Node != NodeId)
            {
                entries.Add(entry);
            }
        }

        Apply(entries, [], replace: true);
        Volatile.Write(ref _last, top);
    }

    /// <summary>Applies joins and leaves to the view and sends what changed it, one diff per topic, under the view's lock.</summary>
    private void Apply(IReadOnlyList<Remote> joins, IReadOnlyList<string> leaves, bool replace)
    {
        lock (_viewGate)
        {
            if (replace)
            {
                var wanted = joins.Select(j => j.Ref).ToHashSet(StringComparer.Ordinal);
                leaves = [.. _byRef.Keys.Where(r => !wanted.Contains(r))];
            }

            var diffs = new Dictionary<string, (List<Remote> Joins, List<Remote> Leaves)>(StringComparer.Ordinal);
            foreach (string presenceRef in leaves)
            {
                if (_byRef.Remove(presenceRef, out Remote? gone))
                {
                    Dictionary<string, Remote> topic = _view[gone.ViewKey];
                    topic.Remove(presenceRef);
                    if (topic.Count == 0)
                    {
                        _view.Remove(gone.ViewKey);
                    }

                    DiffOf(diffs, gone.ViewKey).Leaves.Add(gone);
                }
            }

            foreach (Remote join in joins)
            {
                if (_byRef.TryAdd(join.Ref, join))
                {
                    if (!_view.TryGetValue(join.ViewKey, out Dictionary<string, Remote>? topic))
                    {
                        _view[join.ViewKey] = topic = new Dictionary<string, Remote>(StringComparer.Ordinal);
                    }

                    topic[join.Ref] = join;
                    DiffOf(diffs, join.ViewKey).Joins.Add(join);
                }
            }

            foreach ((List<Remote> joined, List<Remote> left) in diffs.Values)
            {
                Remote any = joined.Count > 0 ? joined[0] : left[0];
                RealtimeBroadcastMessage diff = RealtimeBroadcastMessage.FromPresenceDiff(any.Topic, WriteDiff(joined, left));
                diff.IsPrivate = any.IsPrivate; // reaches only the channels of that namespace, as on the tracking node
                ValueTask sent = _local.SendAsync(diff);
                if (!sent.IsCompletedSuccessfully)
                {
                    sent.AsTask().GetAwaiter().GetResult(); // the in-process fan-out only enqueues: never reached
                }
            }
        }

        static (List<Remote> Joins, List<Remote> Leaves) DiffOf(Dictionary<string, (List<Remote>, List<Remote>)> diffs, string topic)
        {
            if (!diffs.TryGetValue(topic, out (List<Remote>, List<Remote>) diff))
            {
                diffs[topic] = diff = ([], []);
            }

            return diff;
        }
    }
}
