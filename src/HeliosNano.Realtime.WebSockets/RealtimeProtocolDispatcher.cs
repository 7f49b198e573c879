using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The protocol half of the split (SignalR's <c>HubConnectionHandler</c> dispatch): turns each inbound Phoenix message
/// of one connection into its handler: <c>heartbeat</c>, <c>phx_join</c>, <c>phx_leave</c>, <c>access_token</c>, and the
/// channel extensions' events (<c>broadcast</c>, text or binary kind 3, to <see cref="BroadcastExtension"/>).
/// </summary>
/// <remarks>Runs on the connection loop only, so it needs no locks; it answers through the connection's send path.</remarks>
internal sealed class RealtimeProtocolDispatcher
{
    /// <summary>Every routed topic starts with this.</summary>
    public const string TopicPrefix = "realtime:";

    /// <summary>The system message of every channel and the socket's close reason when the inbound rate limit trips.</summary>
    private const string RateLimitReason = "Too many messages per second";

    private readonly RealtimeConnection _connection;
    private readonly RealtimeChannelCollection _channels;
    private readonly PostgresChangesExtension _postgres;
    private readonly BroadcastExtension _broadcast;
    private readonly PresenceExtension _presence;
    private readonly RealtimeAuthExtension _auth;
    private readonly RealtimeWebSocketOptions _options;
    private readonly ILogger _logger;

    public RealtimeProtocolDispatcher(RealtimeConnection connection, RealtimeChannelCollection channels, PostgresChangesExtension postgres, BroadcastExtension broadcast, PresenceExtension presence, RealtimeAuthExtension auth)
    {
        _auth = auth;
        _presence = presence;
        _broadcast = broadcast;
        _connection = connection;
        _channels = channels;
        _postgres = postgres;
        _options = connection.Options;
        _logger = connection.Logger;
    }

    /// <summary>Handles one inbound item: a message, a parse error that can be answered, or the rate limit tripping.</summary>
    public async ValueTask HandleAsync(RealtimeConnection.InboundItem item)
    {
        if (item.IsRateLimited)
        {
            // The pushes still queued would get no answer: after the channels' system messages, close the socket with
            // a reason so the client reconnects at once instead of timing out push by push.
            await CloseAllChannelsAsync(RateLimitReason).ConfigureAwait(false);
            _connection.RequestClose(WebSocketCloseStatus.PolicyViolation, RateLimitReason);
            return;
        }

        if (item.BinaryPush is PhoenixBinaryFrame.BinaryPush push)
        {
            await HandleBinaryPushAsync(push, item.BinaryFrame!).ConfigureAwait(false);
            return;
        }

        if (item.Message is not PhoenixMessage message)
        {
            if (item.Ref is null || item.Topic is null)
            {
                await _connection.SendProtocolErrorAsync("MalformedWebSocketMessage: " + item.Error).ConfigureAwait(false);
            }
            else
            {
                await _connection.ReplyErrorAsync(null, item.Ref, item.Topic, "MalformedWebSocketMessage: " + item.Error).ConfigureAwait(false);
            }

            return;
        }

        using (message)
        {
            switch (message.Event)
            {
                case "heartbeat" when message.Topic == "phoenix":
                    await _connection.ReplyOkAsync(null, message.Ref, message.Topic).ConfigureAwait(false);
                    break;
                case "phx_join":
                    await JoinAsync(message).ConfigureAwait(false);
                    break;
                case "phx_leave":
                    await LeaveAsync(message).ConfigureAwait(false);
                    break;
                case "broadcast" when _channels.TryGet(message.Topic, out RealtimeChannel? channel):
                    // A private channel without write permission: dropped silently, even with ack, as Supabase.
                    if (await _auth.CanWriteAsync(channel!, RealtimeChannelAccess.WriteBroadcast).ConfigureAwait(false))
                    {
                        await _broadcast.HandleTextPushAsync(message, channel!).ConfigureAwait(false);
                    }

                    break;
                case "presence" when _channels.TryGet(message.Topic, out RealtimeChannel? channel):
                    if (await _auth.CanWriteAsync(channel!, RealtimeChannelAccess.WritePresence).ConfigureAwait(false))
                    {
                        await _presence.HandlePushAsync(message, channel!).ConfigureAwait(false);
                    }
                    else
                    {
                        // As Supabase: a denied track is answered {"status":"error","response":{}}.
                        await _connection.EndReplyAsync(_connection.BeginErrorReply(channel!.JoinRef, message.Ref, channel.Topic)).ConfigureAwait(false);
                    }

                    break;
                case "access_token":
                    // Never answered, as Supabase: a new token for the channel (or nothing, for sb_ keys and repeats).
                    if (_channels.TryGet(message.Topic, out RealtimeChannel? refreshed))
                    {
                        string? token = message.Payload.ValueKind == JsonValueKind.Object ? GetString(message.Payload, "access_token") : null;
                        await _auth.RefreshAsync(refreshed!, token).ConfigureAwait(false);
                    }

                    break;
                default:
                    if (!_channels.Contains(message.Topic))
                    {
                        await _connection.ReplyErrorAsync(null, message.Ref, message.Topic, "unmatched topic").ConfigureAwait(false);
                    }
                    else if (message.Ref is not null)
                    {
                        await _connection.ReplyErrorAsync(message.JoinRef, message.Ref, message.Topic, $"UnsupportedEvent: this server does not handle '{message.Event}'").ConfigureAwait(false);
                    }

                    break;
            }
        }
    }

    private async ValueTask JoinAsync(PhoenixMessage message)
    {
        string topic = message.Topic;
        string? joinRef = message.JoinRef ?? message.Ref;
        if (!topic.StartsWith(TopicPrefix, StringComparison.Ordinal))
        {
            await RefuseJoinAsync(message, null, "unmatched topic").ConfigureAwait(false);
            return;
        }

        string name = topic[TopicPrefix.Length..];
        if (name.Length == 0)
        {
            await RefuseJoinAsync(message, joinRef, "TopicNameRequired: You must provide a topic name").ConfigureAwait(false);
            return;
        }

        bool replacing = _channels.Contains(topic);
        if (!replacing && _channels.Count >= _options.MaxChannelsPerConnection)
        {
            await RefuseJoinAsync(message, joinRef, "ChannelRateLimitReached: Too many channels").ConfigureAwait(false);
            return;
        }

        // What a join carries is held for the channel's lifetime: its size has its own cap, below the frame limit.
        if (message.Utf8Length > _options.MaxJoinPayloadBytes)
        {
            await RefuseJoinAsync(message, joinRef, $"PayloadTooLarge: the join is {message.Utf8Length} bytes; this server accepts joins of at most {_options.MaxJoinPayloadBytes} bytes").ConfigureAwait(false);
            return;
        }

        JsonElement payload = message.Payload;
        string? accessToken = null;
        JsonElement config = default;
        if (payload.ValueKind == JsonValueKind.Object)
        {
            accessToken = GetString(payload, "access_token") ?? GetString(payload, "user_token");
            payload.TryGetProperty("config"u8, out config);
        }

        // Who the channel acts as: its access_token, or the connection's. A bad token waits out the back-off first.
        RealtimeTokenResult identity = await _auth.AuthenticateJoinAsync(accessToken).ConfigureAwait(false);
        if (!identity.Succeeded)
        {
            await _auth.BackoffAsync().ConfigureAwait(false);
            await RefuseJoinAsync(message, joinRef, identity.Reason).ConfigureAwait(false);
            return;
        }

        RealtimeChannelAuth auth = _auth.CreateAuth(identity);
        bool isPrivate = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("private"u8, out JsonElement p) && p.ValueKind == JsonValueKind.True
            && await _auth.EnforcesPrivateAsync().ConfigureAwait(false);
        bool hasConfig = config.ValueKind != JsonValueKind.Undefined;
        PostgresJoin postgres = await _postgres.PrepareJoinAsync(topic, name, config, hasConfig, accessToken, auth.User).ConfigureAwait(false);
        if (postgres.Refusal is not null)
        {
            auth.Dispose();
            await RefuseJoinAsync(message, joinRef, postgres.Refusal).ConfigureAwait(false);
            return;
        }

        string? denied = await _auth.AuthorizeJoinAsync(auth, name, isPrivate, postgres.Active).ConfigureAwait(false);
        if (denied is not null)
        {
            auth.Dispose();
            await _auth.BackoffAsync().ConfigureAwait(false);
            await RefuseJoinAsync(message, joinRef, denied).ConfigureAwait(false);
            return;
        }

        if (replacing && _channels.TryGet(topic, out RealtimeChannel? old))
        {
            // Re-joining replaces the old join (the client does this after an error or timeout).
            await _channels.RemoveAsync(old!).ConfigureAwait(false);
        }

        var channel = new RealtimeChannel(_connection, topic, joinRef, [.. postgres.Active], _connection.Frames.ArrayFormat)
        {
            IsPrivate = isPrivate,
            Auth = auth,
        };
        BroadcastExtension.Configure(channel, config);
        PresenceExtension.Configure(channel, config);
        await _channels.AddAsync(channel).ConfigureAwait(false);
        _auth.Schedule(channel);

        // The subscription is live before the reply, so every change committed after the reply reaches this channel.
        _postgres.OnJoined(channel, config, hasConfig);
        RealtimeConnection.Log.Joined(_logger, _connection.Id, topic, postgres.Active.Count, channel.StartAfter);

        Utf8JsonWriter w = _connection.BeginOkReply(joinRef, message.Ref, topic);
        if (hasConfig)
        {
            PostgresChangesExtension.WriteReplyEcho(w, postgres);
        }

        await _connection.EndReplyAsync(w).ConfigureAwait(false);
        await _postgres.SendJoinSystemMessagesAsync(channel, postgres).ConfigureAwait(false);
        if (!channel.IsPrivate || auth.CanReadPresence)
        {
            await _presence.SendStateAsync(channel).ConfigureAwait(false);
        }
    }

    private async ValueTask HandleBinaryPushAsync(PhoenixBinaryFrame.BinaryPush push, byte[] frame)
    {
        _connection.SpeaksBinaryBroadcasts = true;
        if (_channels.TryGet(push.Topic, out RealtimeChannel? channel))
        {
            if (await _auth.CanWriteAsync(channel!, RealtimeChannelAccess.WriteBroadcast).ConfigureAwait(false))
            {
                await _broadcast.HandleBinaryPushAsync(push, frame, channel!).ConfigureAwait(false);
            }
        }
        else
        {
            await _connection.ReplyErrorAsync(null, push.Ref, push.Topic, "unmatched topic").ConfigureAwait(false);
        }
    }

    private async ValueTask LeaveAsync(PhoenixMessage message)
    {
        _channels.TryGet(message.Topic, out RealtimeChannel? channel);
        if (channel is not null)
        {
            await _channels.RemoveAsync(channel).ConfigureAwait(false);
            _postgres.OnChannelsChanged();
        }

        await _connection.ReplyOkAsync(message.JoinRef, message.Ref, message.Topic).ConfigureAwait(false);
        if (channel is not null)
        {
            await _connection.SendCloseAsync(channel).ConfigureAwait(false);
        }
    }

    private async ValueTask CloseAllChannelsAsync(string reason)
    {
        RealtimeChannel[] channels = await _channels.RemoveAllAsync().ConfigureAwait(false);
        _postgres.OnChannelsChanged();
        foreach (RealtimeChannel channel in channels)
        {
            await _connection.SendSystemAsync(channel, "system", "error", reason).ConfigureAwait(false);
            await _connection.SendCloseAsync(channel).ConfigureAwait(false);
        }
    }

    private async ValueTask RefuseJoinAsync(PhoenixMessage message, string? joinRef, string reason)
    {
        RealtimeConnection.Log.JoinRefused(_logger, message.Topic, _connection.Id, reason);
        _connection.Metrics.RefusedJoins.Add(1);
        await _connection.ReplyErrorAsync(joinRef, message.Ref, message.Topic, reason).ConfigureAwait(false);
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
