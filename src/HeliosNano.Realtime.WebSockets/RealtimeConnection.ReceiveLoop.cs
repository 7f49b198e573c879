using System.Buffers;
using System.Net.WebSockets;

namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    private async Task ReceiveLoopAsync()
    {
        // No buffer is held while the client is quiet: between messages the loop waits with a zero-byte receive
        // (ManagedWebSocket completes it when a frame arrives) and rents only when data is there.
        byte[]? buffer = null;
        bool dataReady = false;
        int count = 0;
        bool discarding = false;
        long windowStart = _timeProvider.GetTimestamp();
        int windowCount = 0;
        try
        {
            while (true)
            {
                if (count == 0 && buffer is not null && !discarding)
                {
                    // A message boundary: give the buffer back before waiting again.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    dataReady = false;
                }

                Memory<byte> target;
                if (buffer is null && !dataReady)
                {
                    target = Memory<byte>.Empty;
                }
                else
                {
                    buffer ??= ArrayPool<byte>.Shared.Rent(4096);
                    if (count == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _options.MaxInboundMessageBytes + 1));
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    target = buffer.AsMemory(count);
                }

                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(target, _stopReceiving.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (target.IsEmpty && result.Count == 0 && !result.EndOfMessage)
                {
                    // The zero-byte wait completed: a frame is there, read it into a rented buffer.
                    dataReady = true;
                    continue;
                }

                _idleTimer.Change(_options.IdleTimeout, Timeout.InfiniteTimeSpan);
                count += result.Count;
                if (discarding)
                {
                    count = 0;
                    continue;
                }

                if (count > _options.MaxInboundMessageBytes)
                {
                    Log.MessageTooBig(_logger, _id, _options.MaxInboundMessageBytes);
                    _metrics.DroppedMessages.Add(1);
                    RequestClose(WebSocketCloseStatus.MessageTooBig, "message too big");
                    discarding = true;
                    count = 0;
                    continue;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                int length = count;
                count = 0;

                // Rate limit: a fixed one-second window on the server's clock.
                if (_timeProvider.GetElapsedTime(windowStart) >= TimeSpan.FromSeconds(1))
                {
                    windowStart = _timeProvider.GetTimestamp();
                    windowCount = 0;
                }

                if (++windowCount > _options.MaxInboundMessagesPerSecond)
                {
                    _metrics.DroppedMessages.Add(1);
                    if (windowCount == _options.MaxInboundMessagesPerSecond + 1)
                    {
                        Log.RateLimited(_logger, _id, _options.MaxInboundMessagesPerSecond);
                        await _inbound.Writer.WriteAsync(InboundItem.RateLimited, _stopReceiving.Token).ConfigureAwait(false);
                        Wake();
                    }

                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    // vsn 2.0.0 clients (realtime-js) push broadcasts as binary kind-3 frames; nothing else is binary.
                    byte[] binary = buffer is null ? [] : buffer.AsSpan(0, length).ToArray();
                    if (!_frames.ArrayFormat || !PhoenixBinaryFrame.TryDecodePush(binary, out PhoenixBinaryFrame.BinaryPush push, out _))
                    {
                        Log.BinaryMessageDropped(_logger, length, _id);
                        _metrics.DroppedMessages.Add(1);
                        string why = _frames.ArrayFormat
                            ? "a binary frame must be a broadcast push (kind 3)"
                            : "binary frames need vsn=2.0.0";
                        await _inbound.Writer.WriteAsync(new InboundItem(null, why, null, null), _stopReceiving.Token).ConfigureAwait(false);
                        Wake();
                        continue;
                    }

                    await _inbound.Writer.WriteAsync(InboundItem.FromBinaryPush(push, binary), _stopReceiving.Token).ConfigureAwait(false);
                    Wake();
                    continue;
                }

                byte[] message = buffer is null ? [] : buffer.AsSpan(0, length).ToArray();
                PhoenixMessage? parsed = PhoenixMessage.TryParse(message, _frames.ArrayFormat, out string? error, out string? errorRef, out string? errorTopic);
                if (parsed is null)
                {
                    Log.MalformedMessage(_logger, _id, error!);
                    _metrics.DroppedMessages.Add(1);
                    // Answered either way: an error reply when the ref and topic are known, else a system error on "phoenix".
                    bool answerable = errorRef is not null && errorTopic is not null;
                    await _inbound.Writer.WriteAsync(new InboundItem(null, error, answerable ? errorRef : null, answerable ? errorTopic : null), _stopReceiving.Token).ConfigureAwait(false);
                    Wake();
                    continue;
                }

                try
                {
                    await _inbound.Writer.WriteAsync(new InboundItem(parsed, null, null, null), _stopReceiving.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    parsed.Dispose();
                    throw;
                }

                Wake();
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            _inbound.Writer.TryComplete();
            Wake();
            while (_inbound.Reader.TryRead(out InboundItem? left))
            {
                left.Message?.Dispose();
            }
        }
    }
}
