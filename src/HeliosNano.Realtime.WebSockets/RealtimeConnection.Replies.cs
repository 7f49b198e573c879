using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    private static readonly JsonEncodedText s_phxReply = JsonEncodedText.Encode("phx_reply");
    private static readonly JsonEncodedText s_phxClose = JsonEncodedText.Encode("phx_close");
    private static readonly JsonEncodedText s_system = JsonEncodedText.Encode("system");
    private static readonly JsonEncodedText s_status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText s_response = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText s_reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText s_extension = JsonEncodedText.Encode("extension");
    private static readonly JsonEncodedText s_message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText s_channel = JsonEncodedText.Encode("channel");

    /// <summary>Starts a <c>phx_reply</c> with <c>"status":"ok"</c> and an open <c>response</c> object; finish it with <see cref="EndReplyAsync"/>.</summary>
    internal Utf8JsonWriter BeginOkReply(string? joinRef, string? @ref, string topic)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "ok");
        w.WriteStartObject(s_response);
        return w;
    }

    /// <summary>Starts a <c>phx_reply</c> with <c>"status":"error"</c> and an open <c>response</c> object; finish it with <see cref="EndReplyAsync"/>.</summary>
    internal Utf8JsonWriter BeginErrorReply(string? joinRef, string? @ref, string topic)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "error");
        w.WriteStartObject(s_response);
        return w;
    }

    /// <summary>Closes the <c>response</c> object of a reply started with <see cref="BeginOkReply"/> and sends it.</summary>
    internal async ValueTask EndReplyAsync(Utf8JsonWriter w)
    {
        w.WriteEndObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    internal ValueTask ReplyOkAsync(string? joinRef, string? @ref, string topic) => EndReplyAsync(BeginOkReply(joinRef, @ref, topic));

    internal async ValueTask ReplyErrorAsync(string? joinRef, string? @ref, string topic, string reason)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "error");
        w.WriteStartObject(s_response);
        w.WriteString(s_reason, reason);
        w.WriteEndObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    /// <summary>Sends <c>{"status":"error","response":"REASON"}</c>: Phoenix's encoding of a bare error atom, as Supabase answers an oversized broadcast.</summary>
    internal async ValueTask ReplyBareErrorAsync(string? joinRef, string? @ref, string topic, string reason)
    {
        Utf8JsonWriter w = _frames.Begin(joinRef, @ref, topic, s_phxReply);
        w.WriteStartObject();
        w.WriteString(s_status, "error");
        w.WriteString(s_response, reason);
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    internal async ValueTask SendSystemAsync(RealtimeChannel channel, string extension, string status, string message)
    {
        Utf8JsonWriter w = _frames.Begin(channel.JoinRef, null, channel.Topic, s_system);
        w.WriteStartObject();
        w.WriteString(s_extension, extension);
        w.WriteString(s_status, status);
        w.WriteString(s_message, message);
        w.WriteString(s_channel, channel.Name);
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the client that a frame it sent could not be used and carried no ref to answer: a <c>system</c> error on
    /// topic <c>phoenix</c>, which clients that never joined that topic ignore and a wscat user reads.
    /// </summary>
    internal async ValueTask SendProtocolErrorAsync(string message)
    {
        Utf8JsonWriter w = _frames.Begin(null, null, "phoenix", s_system);
        w.WriteStartObject();
        w.WriteString(s_status, "error");
        w.WriteString(s_message, message);
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }

    internal async ValueTask SendCloseAsync(RealtimeChannel channel)
    {
        Utf8JsonWriter w = _frames.Begin(channel.JoinRef, channel.JoinRef, channel.Topic, s_phxClose);
        w.WriteStartObject();
        w.WriteEndObject();
        await SendAsync(_frames.End()).ConfigureAwait(false);
    }
}
