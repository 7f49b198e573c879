using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The <c>presence</c> extension of one connection: <c>track</c> / <c>untrack</c> pushes (always answered, also when
/// presence was not enabled at join), and the <c>presence_state</c> that follows the join reply of a channel joined
/// with <c>config.presence.enabled</c>.
/// </summary>
/// <remarks>
/// The key is <c>config.presence.key</c>, or a fresh UUID per join when it is absent or empty. A track payload over
/// <see cref="RealtimeWebSocketOptions.MaxBroadcastPayloadBytes"/> ends the channel with the system message
/// <c>Track message size exceeded</c> and <c>phx_close</c>, as Supabase. Diffs reach only channels that enabled
/// presence or tracked (realtime-js buffers diffs forever on a channel that never gets a <c>presence_state</c>).
/// </remarks>
internal sealed class PresenceExtension
{
    private static readonly JsonEncodedText s_presenceState = JsonEncodedText.Encode("presence_state");

    private readonly RealtimeConnection _connection;
    private readonly RealtimeChannelCollection _channels;
    private readonly RealtimePresenceTracker _tracker;

    /// <summary>Start of the current presence-call window (<see cref="TimeProvider.GetTimestamp"/>) and the calls counted in it.</summary>
    private long _windowStart;
    private int _callsInWindow;

    public PresenceExtension(RealtimeConnection connection, RealtimeChannelCollection channels, RealtimePresenceTracker tracker)
    {
        _connection = connection;
        _channels = channels;
        _tracker = tracker;
        _windowStart = connection.TimeProvider.GetTimestamp();
    }

    /// <summary>Reads <c>config.presence.{key,enabled}</c> of a join into <paramref name="channel"/>.</summary>
    public static void Configure(RealtimeChannel channel, JsonElement config)
    {
        string? key = null;
        if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("presence"u8, out JsonElement presence) && presence.ValueKind == JsonValueKind.Object)
        {
            channel.PresenceEnabled = presence.TryGetProperty("enabled"u8, out JsonElement enabled) && enabled.ValueKind == JsonValueKind.True;
            if (presence.TryGetProperty("key"u8, out JsonElement k))
            {
                key = k.ValueKind switch
                {
                    JsonValueKind.String => k.GetString(),
                    JsonValueKind.Null or JsonValueKind.Undefined => null,
                    _ => k.GetRawText(),
                };
            }
        }

        channel.PresenceKey = string.IsNullOrEmpty(key) ? Guid.NewGuid().ToString() : key;
    }

    /// <summary>Sends <c>presence_state</c> with the join's ref after the join reply, when the channel enabled presence.</summary>
    public async ValueTask SendStateAsync(RealtimeChannel channel)
    {
        if (!channel.PresenceEnabled)
        {
            return;
        }

        Utf8JsonWriter w = _connection.Frames.Begin(channel.JoinRef, null, channel.Topic, s_presenceState);
        w.WriteRawValue(_tracker.GetStateJson(channel.NamespaceTopic), skipInputValidation: true);
        await _connection.SendAsync(_connection.Frames.End()).ConfigureAwait(false);
    }

    /// <summary>Handles a <c>presence</c> push: <c>{"type":"presence","event":"track"|"untrack","payload":{…}}</c>.</summary>
    public async ValueTask HandlePushAsync(PhoenixMessage message, RealtimeChannel channel)
    {
        JsonElement payload = message.Payload;
        string? eventName = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("event"u8, out JsonElement e) && e.ValueKind == JsonValueKind.String
            ? e.GetString()!.ToLowerInvariant()
            : null;
        switch (eventName)
        {
            case null:
                await _connection.ReplyOkAsync(channel.JoinRef, message.Ref, channel.Topic).ConfigureAwait(false);
                break;
            case "track" or "untrack" when !TryCountCall():
                await ShutDownAsync(channel, "Client presence rate limit exceeded").ConfigureAwait(false);
                RealtimeConnection.Log.PresenceRateLimited(_connection.Logger, channel.Topic, _connection.Id, _connection.Options.MaxPresenceCallsPerWindow, _connection.Options.PresenceCallWindow);
                break;
            case "track":
                await TrackAsync(message, channel, payload).ConfigureAwait(false);
                break;
            case "untrack":
                await _tracker.UntrackAsync(channel).ConfigureAwait(false);
                await _connection.ReplyOkAsync(channel.JoinRef, message.Ref, channel.Topic).ConfigureAwait(false);
                break;
            default:
                Utf8JsonWriter w = _connection.BeginErrorReply(channel.JoinRef, message.Ref, channel.Topic);
                await _connection.EndReplyAsync(w).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask TrackAsync(PhoenixMessage message, RealtimeChannel channel, JsonElement payload)
    {
        JsonElement meta = payload.TryGetProperty("payload"u8, out JsonElement p) ? p : default;
        if (meta.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            await _connection.ReplyErrorAsync(channel.JoinRef, message.Ref, channel.Topic, "Presence track payload must be a map").ConfigureAwait(false);
            return;
        }

        byte[] json = meta.ValueKind == JsonValueKind.Object ? Encoding.UTF8.GetBytes(meta.GetRawText()) : "{}"u8.ToArray();
        if (json.Length > _connection.Options.MaxBroadcastPayloadBytes)
        {
            await ShutDownAsync(channel, "Track message size exceeded").ConfigureAwait(false);
            return;
        }

        channel.HasTracked = true;
        await _tracker.TrackAsync(channel, channel.PresenceKey, json).ConfigureAwait(false);
        await _connection.ReplyOkAsync(channel.JoinRef, message.Ref, channel.Topic).ConfigureAwait(false);
    }

    /// <summary>Counts one presence call in the fixed window; <see langword="false"/> when the window's budget is spent.</summary>
    private bool TryCountCall()
    {
        if (_connection.TimeProvider.GetElapsedTime(_windowStart) >= _connection.Options.PresenceCallWindow)
        {
            _windowStart = _connection.TimeProvider.GetTimestamp();
            _callsInWindow = 0;
        }

        return ++_callsInWindow <= _connection.Options.MaxPresenceCallsPerWindow;
    }

    /// <summary>Ends <paramref name="channel"/> as Supabase does on a presence limit: the push gets no reply, the channel a system error and <c>phx_close</c>.</summary>
    private async ValueTask ShutDownAsync(RealtimeChannel channel, string reason)
    {
        await _channels.RemoveAsync(channel).ConfigureAwait(false);
        await _connection.SendSystemAsync(channel, "system", "error", reason).ConfigureAwait(false);
        await _connection.SendCloseAsync(channel).ConfigureAwait(false);
    }
}
