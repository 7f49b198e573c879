using System.Buffers;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Writes outbound Phoenix frames for one connection into one reusable buffer, in the connection's serializer
/// (vsn 1.0.0 objects without <c>join_ref</c>, vsn 2.0.0 arrays).
/// </summary>
/// <remarks>
/// The buffer is rented from <see cref="ArrayPool{T}.Shared"/> on the first write and given back by
/// <see cref="Release"/> (the connection calls it when it goes idle), so an idle connection holds no frame buffer and
/// one large frame does not pin a large array for the connection's lifetime.
/// </remarks>
internal sealed class PhoenixFrameWriter : IDisposable
{
    private static readonly JsonEncodedText s_topic = JsonEncodedText.Encode("topic");
    private static readonly JsonEncodedText s_event = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText s_payload = JsonEncodedText.Encode("payload");
    private static readonly JsonEncodedText s_ref = JsonEncodedText.Encode("ref");

    private readonly PooledBuffer _buffer = new();
    private readonly Utf8JsonWriter _writer;
    private string? _ref;

    public PhoenixFrameWriter(bool arrayFormat)
    {
        ArrayFormat = arrayFormat;
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = false });
    }

    public bool ArrayFormat { get; }

    public IBufferWriter<byte> Buffer => _buffer;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Gives the buffer back to the pool; the next frame rents again. The last frame's memory must no longer be in use.</summary>
    public void Release() => _buffer.Release();

    /// <summary>Starts a frame; the caller writes exactly one payload value to the returned writer, then calls <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin(string? joinRef, string? @ref, string topic, JsonEncodedText eventName)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _ref = @ref;
        if (ArrayFormat)
        {
            _writer.WriteStartArray();
            WriteRef(joinRef);
            WriteRef(@ref);
            _writer.WriteStringValue(topic);
            _writer.WriteStringValue(eventName);
        }
        else
        {
            _writer.WriteStartObject();
            _writer.WriteString(s_topic, topic);
            _writer.WriteString(s_event, eventName);
            _writer.WritePropertyName(s_payload);
        }

        return _writer;
    }

    public ReadOnlyMemory<byte> End()
    {
        if (ArrayFormat)
        {
            _writer.WriteEndArray();
        }
        else
        {
            _writer.WritePropertyName(s_ref);
            WriteRef(_ref);
            _writer.WriteEndObject();
        }

        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    /// <summary>Starts a frame whose payload the caller appends as raw bytes to <see cref="Buffer"/>, then calls <see cref="EndRaw"/>.</summary>
    public void BeginRaw(ReadOnlySpan<byte> prefix)
    {
        _buffer.ResetWrittenCount();
        _buffer.Write(prefix);
    }

    public ReadOnlyMemory<byte> EndRaw(ReadOnlySpan<byte> suffix)
    {
        _buffer.Write(suffix);
        return _buffer.WrittenMemory;
    }

    /// <summary>Builds the constant bytes around a change payload for a topic: everything before and after the payload.</summary>
    public static (byte[] Prefix, byte[] Suffix) BuildChangeEnvelope(bool arrayFormat, string topic)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + topic.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStringValue(topic);
        }

        byte[] topicJson = buffer.WrittenSpan.ToArray();
        byte[] prefix = arrayFormat
            ? [.. "[null,null,"u8, .. topicJson, .. ",\"postgres_changes\","u8]
            : [.. "{\"topic\":"u8, .. topicJson, .. ",\"event\":\"postgres_changes\",\"payload\":"u8];
        byte[] suffix = arrayFormat ? [.. "]"u8] : [.. ",\"ref\":null}"u8];
        return (prefix, suffix);
    }

    public void Dispose()
    {
        _writer.Dispose();
        _buffer.Release();
    }

    private void WriteRef(string? raw)
    {
        if (raw is null)
        {
            _writer.WriteNullValue();
        }
        else
        {
            _writer.WriteRawValue(raw, skipInputValidation: true);
        }
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> over one array rented from the shared pool, returned by <see cref="Release"/>.</summary>
    private sealed class PooledBuffer : IBufferWriter<byte>
    {
        private const int MinimumSize = 1024;

        private byte[] _array = [];
        private int _written;

        public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _written);

        public void ResetWrittenCount() => _written = 0;

        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _array.Length - _written);
            _written += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _array.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _array.AsSpan(_written);
        }

        public void Release()
        {
            if (_array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_array);
                _array = [];
            }

            _written = 0;
        }

        private void Ensure(int sizeHint)
        {
            int needed = Math.Max(sizeHint, 1);
            if (_array.Length - _written >= needed)
            {
                return;
            }

            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(checked(_written + needed), Math.Max(MinimumSize, _array.Length * 2)));
            _array.AsSpan(0, _written).CopyTo(larger);
            if (_array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_array);
            }

            _array = larger;
        }
    }
}
