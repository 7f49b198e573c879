using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>One received Phoenix frame, normalized over vsn 1.0.0 objects and 2.0.0 arrays.</summary>
internal sealed record Frame(string Text, WebSocketMessageType MessageType, string? JoinRef, string? Ref, string Topic, string Event, JsonElement Payload, bool HasJoinRefKey)
{
    public string? Status => Payload.TryGetProperty("status", out JsonElement s) ? s.GetString() : null;

    public JsonElement Response => Payload.GetProperty("response");

    public override string ToString() => Text;
}

/// <summary>A System.Net.WebSockets client speaking raw Phoenix frames.</summary>
internal sealed class TestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly byte[] _buffer = new byte[1 << 16];

    private TestClient(ClientWebSocket socket, bool arrayFormat)
    {
        _socket = socket;
        ArrayFormat = arrayFormat;
    }

    public bool ArrayFormat { get; }

    public ClientWebSocket Socket => _socket;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    public static async Task<TestClient> ConnectAsync(Uri uri, bool arrayFormat, string[] subProtocols, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        foreach (string protocol in subProtocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }

        await socket.ConnectAsync(uri, cancellationToken);
        return new TestClient(socket, arrayFormat);
    }

    public Task SendAsync(string text, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);

    public Task SendBinaryAsync(byte[] bytes, CancellationToken cancellationToken) =>
        _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, cancellationToken);

    /// <summary>Sends a message in the client's serializer.</summary>
    public Task PushAsync(string? joinRef, string? @ref, string topic, string eventName, string payload, CancellationToken cancellationToken)
    {
        string Ref(string? r) => r is null ? "null" : JsonSerializer.Serialize(r);
        string text = ArrayFormat
            ? $"[{Ref(joinRef)},{Ref(@ref)},{JsonSerializer.Serialize(topic)},{JsonSerializer.Serialize(eventName)},{payload}]"
            : $"{{\"topic\":{JsonSerializer.Serialize(topic)},\"event\":{JsonSerializer.Serialize(eventName)},\"payload\":{payload},\"ref\":{Ref(@ref)},\"join_ref\":{Ref(joinRef)}}}";
        return SendAsync(text, cancellationToken);
    }

    /// <summary>Joins and returns the reply; the "Subscribed" system message (if any) stays queued for the caller.</summary>
    public async Task<Frame> JoinAsync(string topic, string payload, string @ref, CancellationToken cancellationToken)
    {
        await PushAsync(@ref, @ref, topic, "phx_join", payload, cancellationToken);
        return await ReceiveUntilAsync(f => f.Event == "phx_reply" && f.Ref == JsonSerializer.Serialize(@ref), cancellationToken);
    }

    /// <summary>Joins public.orders with one '*' binding and waits for the reply and the Subscribed system message.</summary>
    public async Task<Frame> JoinOrdersAsync(string topic, string @ref, CancellationToken cancellationToken, string binding = "{\"event\":\"*\",\"schema\":\"public\",\"table\":\"orders\"}")
    {
        Frame reply = await JoinAsync(topic, $"{{\"config\":{{\"postgres_changes\":[{binding}]}}}}", @ref, cancellationToken);
        Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text);
        Frame system = await ReceiveAsync(cancellationToken) ?? throw new AssertionException("closed");
        Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Subscribed to PostgreSQL"), system.Text);
        return reply;
    }

    /// <summary>Receives the next message, or <see langword="null"/> when the server closed (the close is acknowledged).</summary>
    public async Task<Frame?> ReceiveAsync(CancellationToken cancellationToken)
    {
        int count = 0;
        while (true)
        {
            if (count == _buffer.Length)
            {
                throw new InvalidOperationException("frame too large for ReceiveAsync; use ReceiveLargeAsync");
            }

            WebSocketReceiveResult result = await _socket.ReceiveAsync(new ArraySegment<byte>(_buffer, count, _buffer.Length - count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                }

                return null;
            }

            count += result.Count;
            if (result.EndOfMessage && result.MessageType == WebSocketMessageType.Binary)
            {
                return ParseBinary(_buffer.AsSpan(0, count));
            }

            if (result.EndOfMessage)
            {
                return Parse(Encoding.UTF8.GetString(_buffer, 0, count), result.MessageType);
            }
        }
    }

    /// <summary>Receives a whole message of any size as text.</summary>
    public async Task<(string? Text, WebSocketMessageType Type)> ReceiveLargeAsync(CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result = await _socket.ReceiveAsync(new ArraySegment<byte>(_buffer), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (null, result.MessageType);
            }

            stream.Write(_buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (Encoding.UTF8.GetString(stream.ToArray()), result.MessageType);
            }
        }
    }

    public async Task<Frame> ReceiveUntilAsync(Func<Frame, bool> predicate, CancellationToken cancellationToken)
    {
        while (true)
        {
            Frame frame = await ReceiveAsync(cancellationToken) ?? throw new AssertionException($"closed with {CloseStatus} {CloseStatusDescription}");
            if (predicate(frame))
            {
                return frame;
            }
        }
    }

    /// <summary>Sends a heartbeat and returns every frame received before its reply (a barrier: the server handled all earlier input).</summary>
    public async Task<List<Frame>> HeartbeatAsync(string @ref, CancellationToken cancellationToken)
    {
        await PushAsync(null, @ref, "phoenix", "heartbeat", "{}", cancellationToken);
        var before = new List<Frame>();
        while (true)
        {
            Frame frame = await ReceiveAsync(cancellationToken) ?? throw new AssertionException($"closed with {CloseStatus} {CloseStatusDescription}");
            if (frame.Topic == "phoenix" && frame.Event == "phx_reply" && frame.Ref == JsonSerializer.Serialize(@ref))
            {
                return before;
            }

            before.Add(frame);
        }
    }

    /// <summary>A binary kind-4 broadcast: Text is its hex, Topic its topic, Event "binary:" + its user event.</summary>
    public static Frame ParseBinary(ReadOnlySpan<byte> bytes)
    {
        string topic = bytes.Length >= 5 ? Encoding.UTF8.GetString(bytes.Slice(5, bytes[1])) : string.Empty;
        string userEvent = bytes.Length >= 5 ? Encoding.UTF8.GetString(bytes.Slice(5 + bytes[1], bytes[2])) : string.Empty;
        return new Frame(Convert.ToHexString(bytes), WebSocketMessageType.Binary, null, null, topic, "binary:" + userEvent, default, false);
    }

    public Frame Parse(string text, WebSocketMessageType type)
    {
        JsonElement root = JsonDocument.Parse(text).RootElement;
        if (ArrayFormat)
        {
            return new Frame(text, type, Raw(root[0]), Raw(root[1]), root[2].GetString()!, root[3].GetString()!, root[4], true);
        }

        return new Frame(text, type, root.TryGetProperty("join_ref", out JsonElement j) ? Raw(j) : null, Raw(root.GetProperty("ref")),
            root.GetProperty("topic").GetString()!, root.GetProperty("event").GetString()!, root.GetProperty("payload"), root.TryGetProperty("join_ref", out _));

        static string? Raw(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetRawText();
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                _socket.Abort();
            }
        }

        _socket.Dispose();
    }
}
