using System.Text.Json;
using HeliosNano.Realtime.WebSockets;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// The topic seam across nodes: local members are kept and served as by the in-process manager, and every broadcast
/// sent here is also published on one Redis channel, from which every other node delivers it to its own members.
/// </summary>
/// <remarks>
/// Like SignalR's Redis backplane, this is at-most-once fan-out: broadcasts sent while Redis is unreachable reach this
/// node's members only, and messages from different nodes to one topic may interleave differently on different nodes
/// (each node's own messages keep their order). Presence diffs are not published here: <see cref="RedisPresence"/>
/// replicates the state they describe.
/// </remarks>
internal sealed partial class RedisRealtimeTopicManager : RealtimeTopicManager, IAsyncDisposable
{
    private readonly DefaultRealtimeTopicManager _local = new();
    private readonly RedisChangeBackplane _backplane;
    private readonly RedisChannel _channel;

    public RedisRealtimeTopicManager(RedisChangeBackplane backplane)
    {
        _backplane = backplane;
        _channel = RedisChannel.Literal(backplane.KeyPrefix + ":broadcast");
        backplane.AddSubscription(_channel, OnMessage);
        Presence = new RedisPresence(backplane, _local, backplane.Options.PresenceNodeTimeout);
    }

    /// <summary>Gets presence across nodes, which this manager feeds with the local tracker's diffs.</summary>
    public RedisPresence Presence { get; }

    public ValueTask DisposeAsync() => Presence.DisposeAsync();

    public override ValueTask AddAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default) => _local.AddAsync(member, cancellationToken);

    public override ValueTask RemoveAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default) => _local.RemoveAsync(member, cancellationToken);

    public override int GetLocalMemberCount(string topic) => _local.GetLocalMemberCount(topic);

    public override ValueTask SendAsync(RealtimeBroadcastMessage message, IRealtimeTopicMember? except = null, CancellationToken cancellationToken = default)
    {
        ValueTask local = _local.SendAsync(message, except, cancellationToken);
        if (message.IsPresenceDiff)
        {
            Presence.OnLocalDiff(message); // called under the tracker's topic lock: Redis gets the diffs in state order
        }
        else if (_backplane.Connection is ConnectionMultiplexer connection)
        {
            // Fire and forget: a broadcast never waits for Redis (and is not retried: at most once, like SignalR's).
            _ = connection.GetSubscriber().PublishAsync(_channel, Encode(message), CommandFlags.FireAndForget);
        }

        return local;
    }

    private void OnMessage(RedisChannel channel, RedisValue value)
    {
        try
        {
            byte[] data = (byte[])value!;
            var reader = new Utf8JsonReader(data);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            JsonElement root = document.RootElement;
            if (root.GetProperty("n").GetString() == _backplane.NodeId)
            {
                return; // our own: already delivered locally
            }

            string topic = root.GetProperty("t").GetString()!;
            string userEvent = root.GetProperty("e").GetString()!;
            RealtimeBroadcastMessage message = root.GetProperty("k").GetInt32() switch
            {
                1 => RealtimeBroadcastMessage.FromBinary(topic, userEvent, root.GetProperty("p").GetBytesFromBase64()),
                2 => RealtimeBroadcastMessage.FromTextPush(topic, root.GetProperty("p")),
                _ => RealtimeBroadcastMessage.FromJson(topic, userEvent, System.Text.Encoding.UTF8.GetBytes(root.GetProperty("p").GetRawText())),
            };
            message.IsPrivate = root.TryGetProperty("x"u8, out JsonElement isPrivate) && isPrivate.ValueKind == JsonValueKind.True;
            ValueTask sent = _local.SendAsync(message);
            if (!sent.IsCompletedSuccessfully)
            {
                sent.AsTask().GetAwaiter().GetResult(); // the in-process manager completes synchronously; never reached
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Not ours, or from another version: ignore.
        }
    }

    /// <summary><c>{"n":node,"t":topic,"e":event,"x":private,"k":0 json|1 binary|2 text push,"p":payload}</c>.</summary>
    private byte[] Encode(RealtimeBroadcastMessage message)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + message.Payload.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("n"u8, _backplane.NodeId);
            writer.WriteString("t"u8, message.Topic);
            writer.WriteString("e"u8, message.Event);
            if (message.IsPrivate)
            {
                writer.WriteBoolean("x"u8, true); // the topic's private namespace: only private channels may receive it
            }

            if (message.IsBinary)
            {
                writer.WriteNumber("k"u8, 1);
                writer.WriteBase64String("p"u8, message.Payload.Span);
            }
            else if (message.IsTextPush)
            {
                // The push's {type,event,payload} object, rebuilt from its parts.
                writer.WriteNumber("k"u8, 2);
                writer.WriteStartObject("p"u8);
                writer.WriteString("type"u8, "broadcast");
                writer.WriteString("event"u8, message.Event);
                writer.WritePropertyName("payload"u8);
                writer.WriteRawValue(message.Payload.Span, skipInputValidation: true);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteNumber("k"u8, 0);
                writer.WritePropertyName("p"u8);
                writer.WriteRawValue(message.Payload.Span, skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
