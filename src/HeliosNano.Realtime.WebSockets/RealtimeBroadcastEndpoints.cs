using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The request delegates of Supabase's REST broadcast: <c>POST …/broadcast</c> (a batch, what <c>channel.send()</c>
/// uses before the channel is joined) and <c>POST …/broadcast/{topic}/events/{event}</c> (what <c>channel.httpSend()</c> calls).
/// </summary>
/// <remarks>
/// As Supabase: 202 with an empty body; topics are sub-topics (<c>room1</c>); the fan-out reaches every channel on
/// the topic. Errors are JSON: 400 <c>{"error":…}</c> for a body that is not the expected JSON, 415 for a content type
/// other than JSON or octet-stream, 422 <c>{"errors":{"payload":["Payload size exceeds tenant limit"]}}</c> for a payload
/// over <see cref="RealtimeWebSocketOptions.MaxBroadcastPayloadBytes"/>.
/// </remarks>
internal sealed class RealtimeBroadcastEndpoints
{
    private const string TooLarge = """{"errors":{"payload":["Payload size exceeds tenant limit"]}}""";

    private readonly RealtimeBroadcaster _broadcaster;
    private readonly int _maxPayloadBytes;

    public RealtimeBroadcastEndpoints(RealtimeBroadcaster broadcaster, int maxPayloadBytes)
    {
        _broadcaster = broadcaster;
        _maxPayloadBytes = maxPayloadBytes;
    }

    /// <summary><c>{"messages":[{"topic","event","payload","private"?}]}</c>: every message is checked before any is sent.</summary>
    public async Task HandleBatchAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, Error("invalid JSON body: " + e.Message)).ConfigureAwait(false);
            return;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages"u8, out JsonElement messages) || messages.ValueKind != JsonValueKind.Array)
            {
                await WriteAsync(context, StatusCodes.Status400BadRequest, Error("expected {\"messages\":[{\"topic\",\"event\",\"payload\"}]}")).ConfigureAwait(false);
                return;
            }

            var batch = new List<RealtimeBroadcastMessage>(messages.GetArrayLength());
            foreach (JsonElement message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object
                    || !message.TryGetProperty("topic"u8, out JsonElement topic) || topic.ValueKind != JsonValueKind.String || topic.GetString()!.Length == 0
                    || !message.TryGetProperty("event"u8, out JsonElement eventName) || eventName.ValueKind != JsonValueKind.String
                    || !message.TryGetProperty("payload"u8, out JsonElement payload) || payload.ValueKind == JsonValueKind.Null)
                {
                    await WriteAsync(context, StatusCodes.Status400BadRequest, Error("each message needs a string topic, a string event and a payload")).ConfigureAwait(false);
                    return;
                }

                byte[] json = Encoding.UTF8.GetBytes(payload.GetRawText());
                if (json.Length > _maxPayloadBytes)
                {
                    await WriteAsync(context, StatusCodes.Status422UnprocessableEntity, TooLarge).ConfigureAwait(false);
                    return;
                }

                batch.Add(RealtimeBroadcastMessage.FromJson(RealtimeBroadcaster.ToWireTopic(topic.GetString()!), eventName.GetString()!, json));
            }

            foreach (RealtimeBroadcastMessage message in batch)
            {
                await _broadcaster.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
            }
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    /// <summary>The body is the payload: JSON (<c>application/json</c> or no content type) or raw bytes (<c>application/octet-stream</c>).</summary>
    public async Task HandleSingleAsync(HttpContext context)
    {
        string topic = (string)context.Request.RouteValues["topic"]!;
        string eventName = (string)context.Request.RouteValues["event"]!;
        string? contentType = context.Request.ContentType;
        bool binary;
        if (string.IsNullOrEmpty(contentType) || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            binary = false;
        }
        else if (contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            binary = true;
        }
        else
        {
            await WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, Error("Unsupported Media Type. Use application/json or application/octet-stream")).ConfigureAwait(false);
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        ReadOnlySpan<byte> payload = body.GetBuffer().AsSpan(0, (int)body.Length);
        if (payload.Length > _maxPayloadBytes)
        {
            await WriteAsync(context, StatusCodes.Status422UnprocessableEntity, TooLarge).ConfigureAwait(false);
            return;
        }

        if (!binary && !RealtimeBroadcaster.IsOneJsonValue(payload))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, Error("the body must be one JSON value")).ConfigureAwait(false);
            return;
        }

        string wireTopic = RealtimeBroadcaster.ToWireTopic(topic);
        RealtimeBroadcastMessage message = binary
            ? RealtimeBroadcastMessage.FromBinary(wireTopic, eventName, payload)
            : RealtimeBroadcastMessage.FromJson(wireTopic, eventName, payload);
        await _broadcaster.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    private static string Error(string message)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("error"u8, message);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static async Task WriteAsync(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }
}
