using System.Buffers;

namespace HeliosNano.Realtime;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>: growing returns the old
/// array to the pool instead of leaving it to the GC, so building a large image allocates only its final exact copy.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Dispose"/> returns the array; the writer may be used again afterwards.</remarks>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _array;
    private int _written;

    /// <summary>Initializes a writer whose first array holds at least <paramref name="initialCapacity"/> bytes.</summary>
    public PooledBufferWriter(int initialCapacity) => _array = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>Gets the bytes written since the last <see cref="ResetWrittenCount"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _written);

    /// <summary>Gets how many bytes were written.</summary>
    public int WrittenCount => _written;

    /// <summary>Gets the size of the array currently held.</summary>
    public int Capacity => _array.Length;

    /// <summary>Forgets what was written, keeping the array.</summary>
    public void ResetWrittenCount() => _written = 0;

    /// <summary>Returns a large array to the pool and holds a small one again, so an idle writer keeps little memory.</summary>
    /// <param name="maxRetained">The largest array to keep.</param>
    public void Shrink(int maxRetained)
    {
        _written = 0;
        if (_array.Length > maxRetained)
        {
            byte[] large = _array;
            _array = ArrayPool<byte>.Shared.Rent(Math.Min(1024, maxRetained));
            ArrayPool<byte>.Shared.Return(large);
        }
    }

    /// <inheritdoc/>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _array.Length - _written)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }

        _written += count;
    }

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_written);
    }

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_written);
    }

    /// <summary>Returns the array to the pool; the writer then holds an empty one until it is written to again.</summary>
    public void Dispose()
    {
        byte[] array = _array;
        _array = [];
        _written = 0;
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private void Ensure(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_array.Length - _written >= needed)
        {
            return;
        }

        // Double (64-bit safe), but never past what an array can hold.
        long target = Math.Max((long)_written + needed, Math.Max(256L, (long)_array.Length * 2));
        int size = (int)Math.Min(target, Array.MaxLength);
        if (size - _written < needed)
        {
            throw new InvalidOperationException("The image is too large for one buffer (over 2 GiB).");
        }

        byte[] grown = ArrayPool<byte>.Shared.Rent(size);
        _array.AsSpan(0, _written).CopyTo(grown);
        byte[] old = _array;
        _array = grown;
        if (old.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }
}
