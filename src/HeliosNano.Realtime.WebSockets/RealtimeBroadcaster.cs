using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Broadcasts from application code to the clients on a topic, and reads a topic's broadcasts in-process. Registered
/// by <see cref="RealtimeWebSocketServiceCollectionExtensions.AddHeliosRealtimeWebSockets"/>; inject it.
/// </summary>
/// <remarks>
/// Topics are named as supabase-js names them: <c>"room1"</c> is what <c>supabase.channel("room1")</c> joins (on the
/// wire <c>realtime:room1</c>; a name that already starts with <c>realtime:</c> is taken as is). A broadcast from here
/// reaches every channel on the topic, like Supabase's REST broadcast: there is no sender to exclude.
/// </remarks>
public sealed class RealtimeBroadcaster
{
    /// <summary>Broadcasts one in-process reader may have waiting before the oldest is dropped.</summary>
    private const int ReaderCapacity = 1024;

    private readonly RealtimeTopicManager _topics;

    internal RealtimeBroadcaster(RealtimeTopicManager topics) => _topics = topics;

    /// <summary>Sends <paramref name="payload"/> as event <paramref name="eventName"/> to every client on <paramref name="topic"/>.</summary>
    /// <param name="topic">The topic, e.g. <c>room1</c>.</param>
    /// <param name="eventName">The user event, e.g. <c>cursor</c>: what <c>.on("broadcast", { event })</c> filters on.</param>
    /// <param name="payload">The payload, any JSON value.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>A task that completes when every local receiver has the message queued.</returns>
    public ValueTask BroadcastAsync(string topic, string eventName, JsonElement payload, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(eventName);
        if (payload.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The payload must be a JSON value.", nameof(payload));
        }

        return SendAsync(RealtimeBroadcastMessage.FromJson(ToWireTopic(topic), eventName, Encoding.UTF8.GetBytes(payload.GetRawText())), cancellationToken);
    }

    /// <summary>Sends <paramref name="utf8Json"/> (one JSON value, checked) as event <paramref name="eventName"/> to every client on <paramref name="topic"/>.</summary>
    /// <param name="topic">The topic, e.g. <c>room1</c>.</param>
    /// <param name="eventName">The user event.</param>
    /// <param name="utf8Json">The payload as UTF-8 JSON.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>A task that completes when every local receiver has the message queued.</returns>
    /// <exception cref="ArgumentException"><paramref name="utf8Json"/> is not one JSON value.</exception>
    public ValueTask BroadcastAsync(string topic, string eventName, ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(eventName);
        if (!IsOneJsonValue(utf8Json.Span))
        {
            throw new ArgumentException("The payload must be one UTF-8 JSON value.", nameof(utf8Json));
        }

        return SendAsync(RealtimeBroadcastMessage.FromJson(ToWireTopic(topic), eventName, utf8Json.Span), cancellationToken);
    }

    /// <summary>
    /// Reads the broadcasts on <paramref name="topic"/> from every source (clients, REST, this API) until cancelled.
    /// The subscription starts at the first <c>MoveNextAsync</c>, before it returns; a reader more than 1,024
    /// broadcasts behind loses the oldest.
    /// </summary>
    /// <param name="topic">The topic, e.g. <c>room1</c>.</param>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The topic's broadcasts in order.</returns>
    public async IAsyncEnumerable<RealtimeBroadcast> ReadAllAsync(string topic, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        string wireTopic = ToWireTopic(topic);
        string name = wireTopic[RealtimeProtocolDispatcher.TopicPrefix.Length..];
        var member = new Reader(wireTopic);
        await _topics.AddAsync(member, cancellationToken).ConfigureAwait(false);
        try
        {
            while (await member.Queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (member.Queue.Reader.TryRead(out RealtimeBroadcastMessage? message))
                {
                    if (message.IsPresenceDiff)
                    {
                        continue;
                    }

                    yield return new RealtimeBroadcast(name, message.Event, message.Payload, message.IsBinary);
                }
            }
        }
        finally
        {
            await _topics.RemoveAsync(member, CancellationToken.None).ConfigureAwait(false);
        }
    }

    internal ValueTask SendAsync(RealtimeBroadcastMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _topics.SendAsync(message, except: null, cancellationToken);
    }

    internal static string ToWireTopic(string topic) =>
        topic.StartsWith(RealtimeProtocolDispatcher.TopicPrefix, StringComparison.Ordinal) ? topic : RealtimeProtocolDispatcher.TopicPrefix + topic;

    internal static bool IsOneJsonValue(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>An in-process topic member: a bounded queue that drops the oldest broadcast when the reader falls behind.</summary>
    private sealed class Reader(string topic) : IRealtimeTopicMember
    {
        public Channel<RealtimeBroadcastMessage> Queue { get; } = Channel.CreateBounded<RealtimeBroadcastMessage>(
            new BoundedChannelOptions(ReaderCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public string Topic { get; } = topic;

        public void Deliver(RealtimeBroadcastMessage message) => Queue.Writer.TryWrite(message);
    }
}
