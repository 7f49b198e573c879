using System.Buffers;
using System.Text;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Reads the bodies of the extended query protocol's frontend messages (<c>Parse</c>, <c>Bind</c>, <c>Describe</c>,
/// <c>Execute</c>, <c>Close</c>) out of the slice <see cref="PgMessageReader"/> framed, across segments.
/// </summary>
/// <remarks>
/// Every count and length is checked against what is left of the message before anything is allocated for it: a Bind
/// that claims a 2 GB parameter, or 32,767 of them in a 20-byte body, is a protocol violation (08P01, "insufficient data
/// left in message", as PostgreSQL says), never an allocation. Empty names, the common case, allocate nothing.
/// </remarks>
internal static class PgExtendedMessageReader
{
    private const string Insufficient = "insufficient data left in message";

    /// <summary>Reads a <c>Parse</c> body.</summary>
    /// <exception cref="PgProtocolException">The body is malformed.</exception>
    public static PgParseMessage ReadParse(in ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        string name = ReadCString(ref reader);
        string query = ReadCString(ref reader);
        short count = ReadInt16(ref reader);
        if (count < 0 || count * 4L > reader.Remaining)
        {
            throw new PgProtocolException(Insufficient);
        }

        int[] types = count == 0 ? [] : new int[count];
        for (int i = 0; i < types.Length; i++)
        {
            types[i] = ReadInt32(ref reader);
        }

        End(ref reader);
        return new PgParseMessage(name, query, types);
    }

    /// <summary>Reads a <c>Bind</c> body, copying the parameter values out of the receive buffer.</summary>
    /// <exception cref="PgProtocolException">The body is malformed (a count or length past its end, a bad format code).</exception>
    public static PgBindMessage ReadBind(in ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        string portal = ReadCString(ref reader);
        string statement = ReadCString(ref reader);
        short[] formats = ReadFormats(ref reader);
        short count = ReadInt16(ref reader);
        if (count < 0 || count * 4L > reader.Remaining)
        {
            throw new PgProtocolException(Insufficient);
        }

        byte[]?[] values = count == 0 ? [] : new byte[count][];
        for (int i = 0; i < values.Length; i++)
        {
            int length = ReadInt32(ref reader);
            if (length == -1)
            {
                continue;
            }

            if (length < -1 || length > reader.Remaining)
            {
                throw new PgProtocolException(Insufficient);
            }

            var value = new byte[length];
            reader.TryCopyTo(value);
            reader.Advance(length);
            values[i] = value;
        }

        short[] results = ReadFormats(ref reader);
        End(ref reader);
        return new PgBindMessage(portal, statement, formats, values, results);
    }

    /// <summary>Reads a <c>Describe</c> or <c>Close</c> body: <c>'S'</c> (statement) or <c>'P'</c> (portal), then a name.</summary>
    /// <exception cref="PgProtocolException">The body is malformed or the kind is neither.</exception>
    public static string ReadTarget(in ReadOnlySequence<byte> body, out byte kind)
    {
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryRead(out kind))
        {
            throw new PgProtocolException(Insufficient);
        }

        if (kind is not ((byte)'S' or (byte)'P'))
        {
            throw new PgProtocolException($"invalid DESCRIBE/CLOSE message subtype {kind}");
        }

        string name = ReadCString(ref reader);
        End(ref reader);
        return name;
    }

    /// <summary>Reads an <c>Execute</c> body: the portal name and the most rows to return (0: all).</summary>
    /// <exception cref="PgProtocolException">The body is malformed.</exception>
    public static string ReadExecute(in ReadOnlySequence<byte> body, out int maxRows)
    {
        var reader = new SequenceReader<byte>(body);
        string portal = ReadCString(ref reader);
        maxRows = ReadInt32(ref reader);
        End(ref reader);
        return portal;
    }

    private static short[] ReadFormats(ref SequenceReader<byte> reader)
    {
        short count = ReadInt16(ref reader);
        if (count < 0 || count * 2L > reader.Remaining)
        {
            throw new PgProtocolException(Insufficient);
        }

        short[] formats = count == 0 ? [] : new short[count];
        for (int i = 0; i < formats.Length; i++)
        {
            formats[i] = ReadInt16(ref reader);
            if (formats[i] is not (0 or 1))
            {
                throw new PgProtocolException($"unsupported format code: {formats[i]}");
            }
        }

        return formats;
    }

    private static string ReadCString(ref SequenceReader<byte> reader)
    {
        if (reader.TryPeek(out byte first) && first == 0)
        {
            reader.Advance(1);
            return string.Empty;
        }

        if (!reader.TryReadTo(out ReadOnlySequence<byte> text, 0))
        {
            throw new PgProtocolException("invalid string in message");
        }

        return Encoding.UTF8.GetString(text);
    }

    private static short ReadInt16(ref SequenceReader<byte> reader) =>
        reader.TryReadBigEndian(out short value) ? value : throw new PgProtocolException(Insufficient);

    private static int ReadInt32(ref SequenceReader<byte> reader) =>
        reader.TryReadBigEndian(out int value) ? value : throw new PgProtocolException(Insufficient);

    private static void End(ref SequenceReader<byte> reader)
    {
        if (!reader.End)
        {
            throw new PgProtocolException("invalid message format");
        }
    }
}
