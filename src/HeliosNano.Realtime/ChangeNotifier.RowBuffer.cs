using System.Text.Json;

namespace HeliosNano.Realtime;

public sealed partial class ChangeNotifier
{
    private static RowBuffer RentRowBuffer()
    {
        RowBuffer? buffer = s_threadRowBuffer;
        if (buffer is null)
        {
            return new RowBuffer();
        }

        // A row writer that notifies recursively gets a fresh buffer instead of clobbering this one.
        s_threadRowBuffer = null;
        return buffer;
    }

    private static void ReturnRowBuffer(RowBuffer buffer)
    {
        buffer.Clear();
        s_threadRowBuffer = buffer;
    }

    /// <summary>
    /// A per-thread scratch buffer and writer for building images without allocating beyond the final array: the buffer
    /// grows through pooled arrays, so a large image costs its final copy, not every doubling on the way.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as its thread; the writer holds no unmanaged resource and is reset, not disposed; the buffer shrinks back after each use.")]
    private sealed class RowBuffer
    {
        /// <summary>Above this, a returned buffer gives its array back to the pool rather than keep it per thread, bounding idle memory.</summary>
        private const int MaxRetainedBytes = 64 * 1024;

        private readonly Utf8JsonWriter _writer;
        private readonly PooledBufferWriter _buffer = new(1024);

        public RowBuffer() => _writer = new Utf8JsonWriter(_buffer);

        public PooledBufferWriter Buffer => _buffer;

        public int WriteImage<TState>(ChangeRowWriter<TState> rowWriter, TState state, RowImage image)
        {
            int before = _buffer.WrittenCount;
            _writer.Reset(_buffer);
            rowWriter(_writer, state, image);
            _writer.Flush();
            int length = _buffer.WrittenCount - before;
            // One object: it opens with '{', closes at depth 0, and ends with its '}' (the writer allows a comment after
            // the root value, which would end with '/').
            if (length > 0 && (_writer.CurrentDepth != 0 || _buffer.WrittenSpan[before] != (byte)'{' || _buffer.WrittenSpan[^1] != (byte)'}'))
            {
                throw new ArgumentException($"The row writer must write one complete JSON object for the {image} image.", nameof(rowWriter));
            }

            return length;
        }

        public void Clear()
        {
            _buffer.Shrink(MaxRetainedBytes);
            _writer.Reset(_buffer);
        }
    }
}
