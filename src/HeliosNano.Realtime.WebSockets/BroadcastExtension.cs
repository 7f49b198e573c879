using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The <c>broadcast</c> extension of one connection: a client's broadcast push (a text push on vsn 1.0.0 or 2.0.0, or a
/// vsn 2.0.0 binary kind-3 frame) goes to every channel on its topic through <see cref="RealtimeTopicManager"/>,
/// honouring the join's <c>config.broadcast.self</c> and <c>config.broadcast.ack</c>.
/// </summary>
/// <remarks>
/// As Supabase: <c>self: false</c> (the default) skips only the sending channel; <c>ack: true</c> replies
/// <c>{"status":"ok","response":{}}</c> once the fan-out was accepted (not delivered), and a payload over
/// <see cref="RealtimeWebSocketOptions.MaxBroadcastPayloadBytes"/> gets <c>{"status":"error","response":"payload_size_exceeded"}</c>;
/// without <c>ack</c> no reply is ever sent.
/// </remarks>
internal sealed class BroadcastExtension
{
    private const string PayloadSizeExceeded = "payload_size_exceeded";

    private readonly RealtimeConnection _connection;
    private readonly RealtimeTopicManager _topics;
    private readonly ILogger _logger;

    public BroadcastExtension(RealtimeConnection connection, RealtimeTopicManager topics)
    {
        _connection = connection;
        _topics = topics;
        _logger = connection.Logger;
    }

    /// <summary>Reads <c>config.broadcast.{self,ack}</c> of a join into <paramref name="channel"/>.</summary>
    public static void Configure(RealtimeChannel channel, JsonElement config)
    {
        if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("broadcast"u8, out JsonElement broadcast) && broadcast.ValueKind == JsonValueKind.Object)
        {
            channel.BroadcastSelf = broadcast.TryGetProperty("self"u8, out JsonElement self) && self.ValueKind == JsonValueKind.True;
            channel.BroadcastAck = broadcast.TryGetProperty("ack"u8, out JsonElement ack) && ack.ValueKind == JsonValueKind.True;
        }
    }

    /// <summary>Handles a text <c>broadcast</c> push on a joined channel: the push's payload object is forwarded verbatim.</summary>
    public async ValueTask HandleTextPushAsync(PhoenixMessage message, RealtimeChannel channel)
    {
        JsonElement payload = message.Payload;
        if (payload.ValueKind != JsonValueKind.Object)
        {
            await ReplyAsync(channel, message.Ref, error: "Broadcast payload must be an object").ConfigureAwait(false);
            return;
        }

        int size = payload.TryGetProperty("payload"u8, out JsonElement user) ? Encoding.UTF8.GetByteCount(user.GetRawText()) : 0;
        if (size > _connection.Options.MaxBroadcastPayloadBytes)
        {
            await RefuseTooLargeAsync(channel, message.Ref, size).ConfigureAwait(false);
            return;
        }

        await PublishAsync(channel, RealtimeBroadcastMessage.FromTextPush(channel.Topic, payload), message.Ref).ConfigureAwait(false);
    }

    /// <summary>Handles a binary kind-3 push (already decoded) on a joined channel.</summary>
    public async ValueTask HandleBinaryPushAsync(PhoenixBinaryFrame.BinaryPush push, ReadOnlyMemory<byte> frame, RealtimeChannel channel)
    {
        ReadOnlySpan<byte> payload = frame.Span[push.PayloadOffset..];
        if (payload.Length > _connection.Options.MaxBroadcastPayloadBytes)
        {
            await RefuseTooLargeAsync(channel, push.Ref, payload.Length).ConfigureAwait(false);
            return;
        }

        RealtimeBroadcastMessage message = push.IsBinary
            ? RealtimeBroadcastMessage.FromBinary(channel.Topic, push.Event, payload)
            : RealtimeBroadcastMessage.FromJson(channel.Topic, push.Event, payload);
        await PublishAsync(channel, message, push.Ref).ConfigureAwait(false);
    }

    private async ValueTask PublishAsync(RealtimeChannel channel, RealtimeBroadcastMessage message, string? @ref)
    {
        message.IsPrivate = channel.IsPrivate;
        await _topics.SendAsync(message, except: channel.BroadcastSelf ? null : channel).ConfigureAwait(false);
        await ReplyAsync(channel, @ref, error: null).ConfigureAwait(false);
    }

    private async ValueTask RefuseTooLargeAsync(RealtimeChannel channel, string? @ref, int size)
    {
        RealtimeConnection.Log.BroadcastTooLarge(_logger, channel.Topic, _connection.Id, size, _connection.Options.MaxBroadcastPayloadBytes);
        _connection.Metrics.DroppedMessages.Add(1);
        await ReplyAsync(channel, @ref, PayloadSizeExceeded, bareError: true).ConfigureAwait(false);
    }

    /// <summary>Replies only when the channel asked for acks, as Supabase.</summary>
    private async ValueTask ReplyAsync(RealtimeChannel channel, string? @ref, string? error, bool bareError = false)
    {
        if (!channel.BroadcastAck || @ref is null)
        {
            return;
        }

        if (error is null)
        {
            await _connection.ReplyOkAsync(channel.JoinRef, @ref, channel.Topic).ConfigureAwait(false);
        }
        else if (bareError)
        {
            await _connection.ReplyBareErrorAsync(channel.JoinRef, @ref, channel.Topic, error).ConfigureAwait(false);
        }
        else
        {
            await _connection.ReplyErrorAsync(channel.JoinRef, @ref, channel.Topic, error).ConfigureAwait(false);
        }
    }
}
