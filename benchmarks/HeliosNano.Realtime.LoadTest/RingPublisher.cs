using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// A diagnostic target, <c>ring</c>: HeliosNano's core ring with the simplest possible per-connection loop written
/// here (one <see cref="ChangeReader"/> per socket: wait, read, copy the shared change JSON into the same frame shape,
/// send), and none of the adapter's protocol work (no join, no channels, no inbound queue, no send timeout, no metrics).
/// Raw vs ring isolates the cost of one task and one ring reader per connection; ring vs helios isolates the adapter.
/// </summary>
internal sealed class RingPublisher : LoadPublisher
{
    private readonly ChangeNotifier _notifier;
    private readonly ChangeTable _table;
    private long _framesBuilt;

    public RingPublisher(ChangeNotifier notifier, string note)
        : base(note)
    {
        _notifier = notifier;
        _table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        _table.SetColumns(OrderPayload.Columns);
    }

    public override string Target => "ring";

    public override int Subscribers => _notifier.GetSubscriberCount(OrderPayload.Schema, OrderPayload.Table);

    public override int AllSubscribers => _notifier.SubscriberCount;

    public override long FramesBuilt => Interlocked.Read(ref _framesBuilt);

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
        using ChangeReader reader = _notifier.Subscribe(new ChangeSubscriptionOptions { Filter = ChangeFilter.For(OrderPayload.Schema, OrderPayload.Table) });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        Task receive = DrainInboundAsync(socket, stop);
        var frame = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (await reader.WaitToReadAsync(stop.Token))
            {
                while (reader.TryRead(out ChangeEvent? change, out long missed))
                {
                    if (missed > 0)
                    {
                        frame.ResetWrittenCount();
                        frame.Write("{\"topic\":\"realtime:public:orders\",\"event\":\"system\",\"payload\":{\"missed\":"u8);
                        WriteNumber(frame, missed);
                        frame.Write(",\"resume_seq\":"u8);
                        WriteNumber(frame, change.Sequence);
                        frame.Write("},\"ref\":null}"u8);
                        await socket.SendAsync(frame.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, stop.Token);
                    }

                    ReadOnlySpan<byte> data = change.GetUtf8Json().Span;
                    frame.ResetWrittenCount();
                    frame.Write("{\"topic\":\"realtime:public:orders\",\"event\":\"postgres_changes\",\"payload\":{\"ids\":[],\"data\":"u8);
                    frame.Write(data);
                    frame.Write(","u8);
                    frame.Write(data[1..^1]);
                    frame.Write(",\"seq\":"u8);
                    WriteNumber(frame, change.Sequence);
                    frame.Write("},\"ref\":null}"u8);
                    Interlocked.Increment(ref _framesBuilt);
                    await socket.SendAsync(frame.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, stop.Token);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The client left.
        }

        await stop.CancelAsync();
        try
        {
            await receive;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // Ended with the socket.
        }
    }

    protected override ValueTask<long> PublishAsync(OrderPayload.Row row) =>
        new(_notifier.Notify(_table, ChangeKind.Insert, row, OrderPayload.Writer));

    protected override long Backlog(long published, long framesAtStart) =>
        published - ((FramesBuilt - framesAtStart) / Math.Max(1, Subscribers));

    private static async Task DrainInboundAsync(WebSocket socket, CancellationTokenSource stop)
    {
        byte[] sink = new byte[256];
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(sink.AsMemory(), stop.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await stop.CancelAsync();
                return;
            }
        }
    }

    private static void WriteNumber(ArrayBufferWriter<byte> buffer, long value)
    {
        value.TryFormat(buffer.GetSpan(20), out int written, default, CultureInfo.InvariantCulture);
        buffer.Advance(written);
    }
}
