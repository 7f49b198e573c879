using System.Buffers;
using System.Buffers.Binary;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Frames PostgreSQL v3 frontend messages out of a <see cref="System.IO.Pipelines.PipeReader"/> buffer, without
/// copying: a message is a slice of the buffer, whatever segments it spans. The caller advances the reader to the
/// returned position, so a message cut across reads simply waits for its remaining bytes.
/// </summary>
/// <remarks>
/// Lengths are checked before anything is buffered for them: a start-up packet is 8 to 10,000 bytes (PostgreSQL's own
/// limit), a message at most <see cref="MaxMessageLength"/>, so a hostile "2 GB" length is refused at once, not awaited.
/// </remarks>
internal static class PgMessageReader
{
    /// <summary>The largest start-up packet PostgreSQL accepts (<c>MAX_STARTUP_PACKET_LENGTH</c>).</summary>
    public const int MaxStartupLength = 10_000;

    /// <summary>
    /// The largest message accepted: 16 MiB. A Query holding a large script fits; anything longer is refused before
    /// being buffered, which bounds the memory one connection can make the server hold.
    /// </summary>
    public const int MaxMessageLength = 16 * 1024 * 1024;

    /// <summary>The start-up code of protocol version 3.0.</summary>
    public const int ProtocolVersion3 = 196608;

    /// <summary>The start-up code of an <c>SSLRequest</c>.</summary>
    public const int SslRequestCode = 80877103;

    /// <summary>The start-up code of a <c>GSSENCRequest</c>.</summary>
    public const int GssEncRequestCode = 80877104;

    /// <summary>The start-up code of a <c>CancelRequest</c>.</summary>
    public const int CancelRequestCode = 80877102;

    /// <summary>Frames a start-up packet (no type byte: length, then code and body).</summary>
    /// <returns><see langword="true"/> with <paramref name="message"/> (type 0) and <paramref name="consumed"/> when complete.</returns>
    /// <exception cref="PgProtocolException">The length is outside 8 to <see cref="MaxStartupLength"/>.</exception>
    public static bool TryReadStartup(in ReadOnlySequence<byte> buffer, out PgFrontendMessage message, out SequencePosition consumed)
    {
        message = default;
        consumed = buffer.Start;
        if (!TryReadInt32(buffer, 0, out int length))
        {
            return false;
        }

        if (length is < 8 or > MaxStartupLength)
        {
            throw new PgProtocolException("invalid length of startup packet");
        }

        if (buffer.Length < length)
        {
            return false;
        }

        message = new PgFrontendMessage(0, buffer.Slice(4, length - 4));
        consumed = buffer.GetPosition(length);
        return true;
    }

    /// <summary>Frames one regular message: a type byte, a length that counts itself, the body.</summary>
    /// <returns><see langword="true"/> with <paramref name="message"/> and <paramref name="consumed"/> when complete.</returns>
    /// <exception cref="PgProtocolException">The length is below 4 or above <see cref="MaxMessageLength"/>.</exception>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out PgFrontendMessage message, out SequencePosition consumed)
    {
        message = default;
        consumed = buffer.Start;
        if (!TryReadInt32(buffer, 1, out int length))
        {
            return false;
        }

        if (length is < 4 or > MaxMessageLength)
        {
            throw new PgProtocolException($"invalid message length {(uint)length}");
        }

        if (buffer.Length < 1L + length)
        {
            return false;
        }

        byte type = buffer.FirstSpan[0];
        message = new PgFrontendMessage(type, buffer.Slice(5, length - 4));
        consumed = buffer.GetPosition(1 + length);
        return true;
    }

    /// <summary>Reads a big-endian int32 at <paramref name="offset"/>, from one segment or across two.</summary>
    internal static bool TryReadInt32(in ReadOnlySequence<byte> buffer, int offset, out int value)
    {
        value = 0;
        if (buffer.Length < offset + 4)
        {
            return false;
        }

        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= offset + 4)
        {
            value = BinaryPrimitives.ReadInt32BigEndian(first.Slice(offset, 4));
            return true;
        }

        Span<byte> scratch = stackalloc byte[4];
        buffer.Slice(offset, 4).CopyTo(scratch);
        value = BinaryPrimitives.ReadInt32BigEndian(scratch);
        return true;
    }
}
