using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One inbound Phoenix message, parsed from a text frame in the connection's serializer: vsn 1.0.0 objects
/// <c>{"topic","event","payload","ref","join_ref"}</c> or vsn 2.0.0 arrays <c>[join_ref, ref, topic, event, payload]</c>.
/// </summary>
/// <remarks>Refs are kept as their raw JSON text so replies echo them verbatim (strings stay strings).</remarks>
internal sealed class PhoenixMessage : IDisposable
{
    private readonly JsonDocument _document;

    private PhoenixMessage(JsonDocument document, string? joinRef, string? @ref, string topic, string eventName, JsonElement payload)
    {
        _document = document;
        JoinRef = joinRef;
        Ref = @ref;
        Topic = topic;
        Event = eventName;
        Payload = payload;
    }

    /// <summary>Gets the raw JSON of <c>join_ref</c> (a string or number), or <see langword="null"/>.</summary>
    public string? JoinRef { get; }

    /// <summary>Gets the raw JSON of <c>ref</c> (a string or number), or <see langword="null"/>.</summary>
    public string? Ref { get; }

    public string Topic { get; }

    public string Event { get; }

    /// <summary>Gets the payload; <see cref="JsonValueKind.Undefined"/> when the message had none.</summary>
    public JsonElement Payload { get; }

    /// <summary>Parses one message; on failure returns <see langword="null"/> with the reason and any ref that could be read.</summary>
    public static PhoenixMessage? TryParse(byte[] utf8, bool arrayFormat, out string? error, out string? refForError, out string? topicForError)
    {
        error = null;
        refForError = null;
        topicForError = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            error = "invalid JSON: " + e.Message;
            return null;
        }

        JsonElement root = document.RootElement;

        JsonElement joinRef, @ref, topic, eventName, payload;
        if (arrayFormat)
        {
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() != 5)
            {
                document.Dispose();
                error = "expected [join_ref, ref, topic, event, payload]";
                return null;
            }

            joinRef = root[0];
            @ref = root[1];
            topic = root[2];
            eventName = root[3];
            payload = root[4];
        }
        else
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                error = "expected {\"topic\",\"event\",\"payload\",\"ref\"}";
                return null;
            }

            root.TryGetProperty("join_ref"u8, out joinRef);
            root.TryGetProperty("ref"u8, out @ref);
            root.TryGetProperty("topic"u8, out topic);
            root.TryGetProperty("event"u8, out eventName);
            root.TryGetProperty("payload"u8, out payload);
        }

        bool refsOk = TryGetRef(@ref, out string? refText) & TryGetRef(joinRef, out string? joinRefText);
        refForError = refText;
        // System.Text.Json accepts an escaped lone surrogate ("\ud800") while parsing and throws only when the string
        // is read; such a message is malformed (answered as such when its ref and topic are readable), so no later
        // GetString can throw on client input.
        if (topic.ValueKind == JsonValueKind.String && HasOnlyValidStrings(topic))
        {
            topicForError = topic.GetString();
        }

        if (!HasOnlyValidStrings(root))
        {
            document.Dispose();
            error = "invalid JSON: a string holds an unpaired UTF-16 surrogate escape";
            return null;
        }

        if (!refsOk)
        {
            document.Dispose();
            error = "ref and join_ref must be strings, numbers or null";
            return null;
        }

        if (topic.ValueKind != JsonValueKind.String || eventName.ValueKind != JsonValueKind.String)
        {
            document.Dispose();
            error = "topic and event must be strings";
            return null;
        }

        if (payload.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Object or JsonValueKind.Null))
        {
            document.Dispose();
            error = "payload must be an object";
            return null;
        }

        return new PhoenixMessage(document, joinRefText, refText, topic.GetString()!, eventName.GetString()!, payload) { Utf8Length = utf8.Length };
    }

    /// <summary>Gets the message's size in bytes, as received.</summary>
    public int Utf8Length { get; private init; }

    public void Dispose() => _document.Dispose();

    /// <summary>Returns whether every string and property name under <paramref name="element"/> can be read as UTF-16.</summary>
    internal static bool HasOnlyValidStrings(JsonElement element)
    {
        try
        {
            Visit(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static void Visit(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement item in element.EnumerateArray())
                    {
                        Visit(item);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (JsonProperty property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        Visit(property.Value);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    private static bool TryGetRef(JsonElement element, out string? raw)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                raw = null;
                return true;
            case JsonValueKind.String or JsonValueKind.Number:
                raw = element.GetRawText();
                return true;
            default:
                raw = null;
                return false;
        }
    }
}
