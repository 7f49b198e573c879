using System.Buffers;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The <c>postgres_changes</c> extension of one connection: sets up a join's bindings (parse, check tables and
/// columns, authorize), owns the connection's <see cref="ChangeReader"/> over the union of its channels' tables,
/// replays from <c>last_seq</c>, reports lag, and builds change frames by copying bytes.
/// </summary>
/// <remarks>
/// A change's <c>data</c> JSON is <see cref="ChangeEvent.GetUtf8Json"/>: serialized once and shared by every
/// connection. Per connection a frame is the channel's precomputed envelope, the matching binding ids, that shared
/// <c>data</c> and (with <see cref="RealtimeWebSocketOptions.MirrorFlatFields"/>) the same bytes without their outer
/// braces, then <c>"seq":N</c>: byte copies only.
/// </remarks>
internal sealed partial class PostgresChangesExtension : IDisposable
{
    /// <summary>Changes handled in a row before inbound messages get a turn, so heartbeats are answered during bursts.</summary>
    public const int ChangeBatch = 64;

    private static readonly JsonEncodedText s_phxError = JsonEncodedText.Encode("phx_error");
    private static readonly JsonEncodedText s_system = JsonEncodedText.Encode("system");
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText s_reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText s_extension = JsonEncodedText.Encode("extension");
    private static readonly JsonEncodedText s_message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText s_channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText s_postgresChanges = JsonEncodedText.Encode("postgres_changes");
    private static readonly JsonEncodedText s_missed = JsonEncodedText.Encode("missed");
    private static readonly JsonEncodedText s_resumeSeq = JsonEncodedText.Encode("resume_seq");

    private readonly RealtimeConnection _connection;
    private readonly RealtimeChannelCollection _channels;
    private readonly ChangeNotifier _notifier;
    private readonly RealtimeWebSocketOptions _options;
    private readonly RealtimeWebSocketMetrics _metrics;
    private readonly ILogger _logger;
    private readonly List<(long Resume, long Missed)> _pendingLags = [];
    private readonly List<int> _ids = [];
    private readonly Func<ChangeEvent, bool> _wakeFilter;
    private ChangeReader _reader;
    private PostgresWakeView? _wakeView;

    /// <summary>Change frames built since the last <see cref="FlushCounters"/>; only the connection loop touches it.</summary>
    private long _changeFramesPending;

    public PostgresChangesExtension(RealtimeConnection connection, RealtimeChannelCollection channels, ChangeNotifier notifier, IChangeHistory? history = null)
    {
        _connection = connection;
        _channels = channels;
        _notifier = notifier;
        _history = history;
        _options = connection.Options;
        _metrics = connection.Metrics;
        _logger = connection.Logger;
        _wakeFilter = WantsWake;
        _reader = Subscribe(null);
    }

    /// <summary>Sets up the bindings a join asks for; <see cref="PostgresJoin.Refusal"/> is set when authorization refuses the join.</summary>
    public async ValueTask<PostgresJoin> PrepareJoinAsync(string topic, string name, JsonElement config, bool hasConfig, string? accessToken, ClaimsPrincipal user)
    {
        var specs = new List<BindingSpec>();
        if (hasConfig)
        {
            if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("postgres_changes"u8, out JsonElement list) && list.ValueKind == JsonValueKind.Array)
            {
                int count = list.GetArrayLength();
                if (count > _options.MaxBindingsPerChannel)
                {
                    return new PostgresJoin(specs, [], [], $"TooManyBindings: the join has {count} postgres_changes bindings; this server accepts at most {_options.MaxBindingsPerChannel} per channel");
                }

                foreach (JsonElement element in list.EnumerateArray())
                {
                    specs.Add(BindingSpec.FromElement(element, _options));
                }
            }
        }
        else
        {
            specs.Add(BindingSpec.FromTopic(name, _notifier, _options));
        }

        // Set the bindings up (parse filters, check tables and columns), then authorize them all before any state changes.
        var active = new List<PostgresBinding>();
        var errors = new List<string>();
        foreach (BindingSpec spec in specs)
        {
            if (spec.Error is not null)
            {
                errors.Add(spec.Error);
                continue;
            }

            if (spec.Binding is not PostgresBinding binding)
            {
                continue;
            }

            string? problem = CheckTable(binding);
            if (problem is not null)
            {
                errors.Add(problem);
                continue;
            }

            if (_options.AuthorizeJoin is { } authorize)
            {
                var context = new RealtimeJoinContext(_connection.HttpContext, topic, binding.EventName, binding.Schema, binding.Table, binding.FilterText, accessToken, user);
                bool allowed;
                try
                {
                    allowed = await authorize(context).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failing host callback refuses this join; it never takes the connection down.
                    RealtimeConnection.Log.AuthorizationFailed(_logger, topic, _connection.Id, e);
                    allowed = false;
                }

                if (!allowed)
                {
                    return new PostgresJoin(specs, active, errors, $"Unauthorized: You do not have permissions to read from this table: {binding.Schema}.{binding.Table}");
                }
            }

            active.Add(binding);
        }

        // The per-change evaluation budget: what every channel's filters cost together stays under the limit, so the
        // work one change causes on this connection is fixed here, at join time (the channel being replaced does not count).
        int cost = active.Sum(static b => b.Filter?.Cost ?? 0);
        foreach (RealtimeChannel other in _channels.InOrder)
        {
            if (!string.Equals(other.Topic, topic, StringComparison.Ordinal))
            {
                cost += other.Bindings.Sum(static b => b.Filter?.Cost ?? 0);
            }
        }

        if (cost > _options.MaxFilterConditionsPerConnection)
        {
            return new PostgresJoin(specs, [], errors, $"FilterBudgetExceeded: this connection's filters would hold {cost} conditions; this server evaluates at most {_options.MaxFilterConditionsPerConnection} per change and connection");
        }

        return new PostgresJoin(specs, active, errors, null);
    }

    /// <summary>
    /// Makes the subscription of a channel just added live: the filter is in force, then the tail is read, so every
    /// change committed after the join reply has a sequence above <see cref="RealtimeChannel.StartAfter"/>.
    /// </summary>
    public void OnJoined(RealtimeChannel channel, JsonElement config, bool hasConfig)
    {
        _reader.SetFilter(BuildFilter());
        long tail = _notifier.LastSequence;
        channel.StartAfter = tail;
        if (hasConfig && TryGetLastSequence(config, out long lastSeen) && !TryStartHistoryReplay(channel, lastSeen, tail))
        {
            StartReplay(channel, lastSeen, tail);
        }
    }

    /// <summary>Re-reads the channels' tables after channels left.</summary>
    public void OnChannelsChanged() => _reader.SetFilter(BuildFilter());

    /// <summary>Writes the join reply's <c>postgres_changes</c> echo: each requested binding verbatim plus its <c>id</c>.</summary>
    public static void WriteReplyEcho(Utf8JsonWriter w, PostgresJoin join)
    {
        w.WriteStartArray(s_postgresChanges);
        foreach (BindingSpec spec in join.Specs)
        {
            spec.WriteEcho(w);
        }

        w.WriteEndArray();
    }

    /// <summary>Sends the system messages that follow a join reply: one per bad binding, then "Subscribed to PostgreSQL".</summary>
    public async ValueTask SendJoinSystemMessagesAsync(RealtimeChannel channel, PostgresJoin join)
    {
        foreach (string error in join.Errors)
        {
            await _connection.SendSystemAsync(channel, "postgres_changes", "error", error).ConfigureAwait(false);
        }

        if (join.Active.Count > 0)
        {
            await _connection.SendSystemAsync(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL").ConfigureAwait(false);
        }
    }

    /// <summary>Delivers at most <see cref="ChangeBatch"/> changes; returns whether there was any.</summary>
    public async ValueTask<bool> DeliverBatchAsync()
    {
        bool worked = _replays is { Count: > 0 } && await ReplayHistoryAsync().ConfigureAwait(false);
        for (int i = 0; i < ChangeBatch && !_connection.IsEnding; i++)
        {
            bool read = _reader.TryRead(out ChangeEvent? change);
            if (_pendingLags.Count > 0)
            {
                await ReportLagAsync().ConfigureAwait(false);
            }

            if (!read)
            {
                break;
            }

            worked = true;
            await DeliverAsync(change!).ConfigureAwait(false);
        }

        return worked;
    }

    /// <summary>
    /// Waits for a change one of the channels would receive (others do not wake it; see <see cref="PostgresWakeView"/>);
    /// the common wake-up completes without allocating. <see langword="false"/> when the notifier completed.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        // Published before the wait registers (a full fence), so the wake-up work item judges this wait by these channels.
        PostgresWakeView view = PostgresWakeView.For(_channels.InOrder, _wakeView);
        if (!ReferenceEquals(view, _wakeView))
        {
            Interlocked.Exchange(ref _wakeView, view);
        }

        return _reader.WaitToReadAsync(cancellationToken);
    }

    /// <summary>The reader's wake filter; runs on the notifier's wake-up work item.</summary>
    private bool WantsWake(ChangeEvent change) => _connection.IsEnding || (Volatile.Read(ref _wakeView)?.Wants(change) ?? true);

    /// <summary>Gets a value indicating whether any joined channel has a postgres_changes binding (else the ring has nothing for this connection).</summary>
    public bool HasBindings
    {
        get
        {
            foreach (RealtimeChannel channel in _channels.InOrder)
            {
                if (channel.Bindings.Length > 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Adds the change frames counted since the last call to the shared counter.</summary>
    public void FlushCounters()
    {
        if (_changeFramesPending > 0)
        {
            _metrics.ChangeFramesBuilt.Add(_changeFramesPending);
            _changeFramesPending = 0;
        }
    }

    public void Dispose()
    {
        StopHistory();
        _reader.Dispose();
    }

    private ChangeReader Subscribe(long? startAfter) => _notifier.Subscribe(new ChangeSubscriptionOptions
    {
        Filter = BuildFilter(),
        StartAfterSequence = startAfter,
        Name = _connection.Id,
        OnLagged = OnLagged,
        WakeFilter = _wakeFilter,
    });

    private void OnLagged(ChangeReader reader, long missed)
    {
        // Called on the connection loop from inside TryRead; the reader's cursor already sits at the resume point.
        _pendingLags.Add((reader.NextSequence, missed));
    }

    private ChangeFilter BuildFilter()
    {
        var entries = new HashSet<TableFilter>();
        foreach (RealtimeChannel channel in _channels.InOrder)
        {
            foreach (PostgresBinding binding in channel.Bindings)
            {
                entries.Add(binding.ToTableFilter());
            }
        }

        return entries.Count == 0 ? ChangeFilter.None : ChangeFilter.Create(entries);
    }

    /// <summary>
    /// Positions <paramref name="channel"/> to receive the retained changes after <paramref name="lastSeen"/>. When the
    /// connection's cursor is already past that point, the reader is replaced by one that starts there (registered
    /// before the old one leaves, so subscriber counts never dip), and the other channels skip what they already had.
    /// </summary>
    private void StartReplay(RealtimeChannel channel, long lastSeen, long tail)
    {
        RealtimeConnection.Log.Replay(_logger, _connection.Id, lastSeen, channel.Topic);
        long processed = _reader.NextSequence - 1;
        if (lastSeen < processed)
        {
            foreach (RealtimeChannel other in _channels.InOrder)
            {
                other.StartAfter = Math.Max(other.StartAfter, processed);
            }

            ChangeReader old = _reader;
            _reader = Subscribe(Math.Max(0, lastSeen));
            old.Dispose();
        }

        // With a scale-out backplane another node may already have delivered positions this ring has not published yet.
        channel.StartAfter = Math.Clamp(lastSeen, 0, Math.Max(tail, _notifier.KnownSequence));
    }

    private string? CheckTable(PostgresBinding binding)
    {
        if (binding.Table == TableFilter.Wildcard || _options.AllowUnknownTables)
        {
            return null;
        }

        ChangeTable? table = null;
        foreach (ChangeTable candidate in _notifier.Tables)
        {
            if (string.Equals(candidate.Name, binding.Table, StringComparison.Ordinal)
                && (binding.Schema == TableFilter.Wildcard || string.Equals(candidate.Schema, binding.Schema, StringComparison.Ordinal)))
            {
                table = candidate;
                break;
            }
        }

        if (table is null)
        {
            return "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: "
                + $"[event: {binding.EventName}, schema: {binding.Schema}, table: {binding.Table}, filters: [{binding.FilterText}]]";
        }

        if (binding.Filter is RowFilter filter && table.Columns.Count > 0)
        {
            foreach (string column in filter.Columns)
            {
                if (!table.Columns.Any(c => string.Equals(c.Name, column, StringComparison.Ordinal)))
                {
                    return $"invalid column for filter {column}";
                }
            }
        }

        return null;
    }

    private async ValueTask DeliverAsync(ChangeEvent change)
    {
        List<RealtimeChannel> channels = _channels.InOrder;

        // Index loop: a crashing channel is removed from the list while we walk it.
        for (int c = 0; c < channels.Count; c++)
        {
            // A client that left gets no more work: without this a gone socket kept its filters burning CPU until
            // the next send failed.
            if (_connection.IsEnding)
            {
                return;
            }

            RealtimeChannel channel = channels[c];
            if (change.Sequence > channel.StartAfter && !await DeliverToAsync(channel, change).ConfigureAwait(false))
            {
                c--;
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="change"/> to <paramref name="channel"/> if its row policies and bindings let it through:
    /// the one delivery path of ring and history changes.
    /// </summary>
    /// <returns><see langword="false"/> when the channel crashed and was removed.</returns>
    private async ValueTask<bool> DeliverToAsync(RealtimeChannel channel, ChangeEvent change)
    {
        // Row-level policies: one evaluation per policy group and change, shared by every channel in the group.
        ReadOnlyMemory<byte> data = default;
        ChangeKind kind = change.Kind;
        if (channel.Auth?.GetRowGroup(change) is RowPolicyGroup group)
        {
            switch (group.Evaluate(change, out data))
            {
                case RowVisibility.Hidden:
                    return true;
                case RowVisibility.Failed:
                    await _connection.SendSystemAsync(channel, "postgres_changes", "error",
                        $"RowPolicyFailed: the row policy of {group.TableName} failed on change {change.Sequence.ToString(CultureInfo.InvariantCulture)}; it was not delivered").ConfigureAwait(false);
                    return true;
                case RowVisibility.AsInsert:
                    kind = ChangeKind.Insert;
                    break;
                case RowVisibility.AsDelete:
                    kind = ChangeKind.Delete;
                    break;
            }
        }

        _ids.Clear();
        try
        {
            foreach (PostgresBinding binding in channel.Bindings)
            {
                if (binding.Matches(change, kind))
                {
                    _ids.Add(binding.Id);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            RealtimeConnection.Log.ChannelCrashed(_logger, channel.Topic, _connection.Id, e);
            await _channels.RemoveAsync(channel).ConfigureAwait(false);
            OnChannelsChanged();
            Utf8JsonWriter w = _connection.Frames.Begin(channel.JoinRef, channel.JoinRef, channel.Topic, s_phxError);
            w.WriteStartObject();
            w.WriteString(s_reason, "channel_crash");
            w.WriteEndObject();
            await _connection.SendAsync(_connection.Frames.End()).ConfigureAwait(false);
            return false;
        }

        if (_ids.Count > 0)
        {
            await _connection.SendAsync(BuildChangeFrame(channel, change, data)).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Builds <c>{"ids":[…],"data":DATA[,FLAT],"seq":N}</c> inside the channel's envelope, by copying bytes.</summary>
    private ReadOnlyMemory<byte> BuildChangeFrame(RealtimeChannel channel, ChangeEvent change, ReadOnlyMemory<byte> rewritten)
    {
        ReadOnlySpan<byte> data = rewritten.IsEmpty ? _metrics.OnChangePayloadUsed(change).Span : rewritten.Span;
        _changeFramesPending++;
        PhoenixFrameWriter frames = _connection.Frames;
        frames.BeginRaw(channel.Prefix);
        IBufferWriter<byte> buffer = frames.Buffer;
        buffer.Write("{\"ids\":["u8);
        for (int i = 0; i < _ids.Count; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            WriteNumber(buffer, _ids[i]);
        }

        buffer.Write("],\"data\":"u8);
        buffer.Write(data);
        if (_options.MirrorFlatFields && data.Length > 2)
        {
            buffer.Write(","u8);
            buffer.Write(data[1..^1]);
        }

        buffer.Write(",\"seq\":"u8);
        WriteNumber(buffer, change.Sequence);
        buffer.Write("}"u8);
        return frames.EndRaw(channel.Suffix);
    }

    private static void WriteNumber(IBufferWriter<byte> buffer, long value)
    {
        Span<byte> span = buffer.GetSpan(20);
        bool ok = value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture);
        System.Diagnostics.Debug.Assert(ok);
        buffer.Advance(written);
    }

    private async ValueTask ReportLagAsync()
    {
        (long Resume, long Missed)[] lags = [.. _pendingLags];
        _pendingLags.Clear();
        foreach ((long resume, long missed) in lags)
        {
            RealtimeConnection.Log.ClientLagged(_logger, missed, _connection.Id, resume);
            _metrics.LaggedChanges.Add(missed);
            long firstMissed = resume - missed;
            foreach (RealtimeChannel channel in _channels.InOrder.ToArray())
            {
                // Only the part of the gap this channel would have received counts (a replaying channel may start
                // earlier than the others; one replaying from history gets those positions from there).
                if (channel.StartAfter >= resume - 1)
                {
                    continue;
                }

                long relevant = resume - Math.Max(firstMissed, channel.StartAfter + 1);
                await SendLagFrameAsync(channel, relevant, resume).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Tells one channel (a history replay) that <paramref name="missed"/> positions before <paramref name="resume"/> are lost to it.</summary>
    private ValueTask SendLagAsync(RealtimeChannel channel, long missed, long resume)
    {
        RealtimeConnection.Log.ClientLagged(_logger, missed, _connection.Id, resume);
        _metrics.LaggedChanges.Add(missed);
        return SendLagFrameAsync(channel, missed, resume);
    }

    private async ValueTask SendLagFrameAsync(RealtimeChannel channel, long missed, long resume)
    {
        Utf8JsonWriter w = _connection.Frames.Begin(channel.JoinRef, null, channel.Topic, s_system);
        w.WriteStartObject();
        w.WriteString(s_extension, "postgres_changes");
        w.WriteString(s_status, "error");
        w.WriteString(s_message, $"WS client lagged by {missed} events: they were overwritten before this connection could send them; resync");
        w.WriteString(s_channel, channel.Name);
        w.WriteNumber(s_missed, missed);
        w.WriteNumber(s_resumeSeq, resume);
        w.WriteEndObject();
        await _connection.SendAsync(_connection.Frames.End()).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the replay point a client may pass when it joins: the <c>seq</c> of the last change frame it received, as
    /// <c>config.postgres_changes_options.last_seq</c> (the one config object supabase-js forwards verbatim:
    /// <c>supabase.channel(name, { config: { postgres_changes_options: { last_seq } } })</c>) or
    /// <c>config.heliosnano.last_seq</c>; a number or a string of digits.
    /// </summary>
    internal static bool TryGetLastSequence(JsonElement config, out long lastSeen)
    {
        lastSeen = 0;
        if (config.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (string holder in (ReadOnlySpan<string>)["postgres_changes_options", "heliosnano"])
        {
            if (config.TryGetProperty(holder, out JsonElement options) && options.ValueKind == JsonValueKind.Object
                && options.TryGetProperty("last_seq"u8, out JsonElement value))
            {
                return value.ValueKind switch
                {
                    JsonValueKind.Number => value.TryGetInt64(out lastSeen) && lastSeen >= 0,
                    JsonValueKind.String => long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out lastSeen),
                    _ => false,
                };
            }
        }

        return false;
    }
}
