using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Writes PostgreSQL v3 backend messages into an <see cref="IBufferWriter{T}"/> (the connection's
/// <see cref="System.IO.Pipelines.PipeWriter"/>): each message's size is computed first, then it is written in place.
/// </summary>
internal static class PgMessageWriter
{
    private static readonly Encoding s_utf8 = Encoding.UTF8;

    /// <summary><c>AuthenticationOk</c>.</summary>
    public static void AuthenticationOk(IBufferWriter<byte> writer) => Authentication(writer, 0, []);

    /// <summary><c>AuthenticationSASL</c> offering <see cref="ScramSha256.Mechanism"/> only.</summary>
    public static void AuthenticationSasl(IBufferWriter<byte> writer) => Authentication(writer, 10, "SCRAM-SHA-256\0\0"u8);

    /// <summary><c>AuthenticationSASLContinue</c> (11) or <c>AuthenticationSASLFinal</c> (12) with SCRAM data.</summary>
    public static void AuthenticationSasl(IBufferWriter<byte> writer, int code, string data) =>
        Authentication(writer, code, Encoding.ASCII.GetBytes(data));

    /// <summary><c>ParameterStatus</c>.</summary>
    public static void ParameterStatus(IBufferWriter<byte> writer, string name, string value)
    {
        Span<byte> span = Begin(writer, (byte)'S', CStringLength(name) + CStringLength(value), out int total);
        int at = 5;
        at += WriteCString(span[at..], name);
        WriteCString(span[at..], value);
        writer.Advance(total);
    }

    /// <summary><c>BackendKeyData</c>.</summary>
    public static void BackendKeyData(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        Span<byte> span = Begin(writer, (byte)'K', 8, out int total);
        BinaryPrimitives.WriteInt32BigEndian(span[5..], processId);
        BinaryPrimitives.WriteInt32BigEndian(span[9..], secretKey);
        writer.Advance(total);
    }

    /// <summary><c>ReadyForQuery</c> with the transaction status: <c>I</c> idle, <c>T</c> in a block, <c>E</c> in a failed block.</summary>
    public static void ReadyForQuery(IBufferWriter<byte> writer, byte status)
    {
        Span<byte> span = Begin(writer, (byte)'Z', 1, out int total);
        span[5] = status;
        writer.Advance(total);
    }

    /// <summary><c>CommandComplete</c> with a tag as PostgreSQL prints it, e.g. <c>INSERT 0 1</c>.</summary>
    public static void CommandComplete(IBufferWriter<byte> writer, string tag)
    {
        Span<byte> span = Begin(writer, (byte)'C', CStringLength(tag), out int total);
        WriteCString(span[5..], tag);
        writer.Advance(total);
    }

    /// <summary><c>EmptyQueryResponse</c>.</summary>
    public static void EmptyQueryResponse(IBufferWriter<byte> writer)
    {
        Begin(writer, (byte)'I', 0, out int total);
        writer.Advance(total);
    }

    /// <summary><c>ErrorResponse</c> (or, with <paramref name="notice"/>, <c>NoticeResponse</c>): severity, SQLSTATE and message.</summary>
    public static void ErrorResponse(IBufferWriter<byte> writer, string severity, string sqlState, string message, bool notice = false)
    {
        int length = 4 + CStringLength(severity) + CStringLength(severity) + CStringLength(sqlState) + CStringLength(message) + 1;
        Span<byte> span = Begin(writer, notice ? (byte)'N' : (byte)'E', length, out int total);
        int at = 5;
        span[at++] = (byte)'S';
        at += WriteCString(span[at..], severity);
        span[at++] = (byte)'V';
        at += WriteCString(span[at..], severity);
        span[at++] = (byte)'C';
        at += WriteCString(span[at..], sqlState);
        span[at++] = (byte)'M';
        at += WriteCString(span[at..], message);
        span[at] = 0;
        writer.Advance(total);
    }

    /// <summary>A message with no body: <c>ParseComplete</c> (<c>1</c>), <c>BindComplete</c> (<c>2</c>), <c>CloseComplete</c> (<c>3</c>), <c>NoData</c> (<c>n</c>), <c>PortalSuspended</c> (<c>s</c>).</summary>
    public static void Empty(IBufferWriter<byte> writer, byte type)
    {
        Begin(writer, type, 0, out int total);
        writer.Advance(total);
    }

    /// <summary><c>PortalSuspended</c>: an <c>Execute</c> reached its row limit; the portal can go on.</summary>
    public static void PortalSuspended(IBufferWriter<byte> writer) => Empty(writer, (byte)'s');

    /// <summary><c>ParameterDescription</c>: the type OID of each parameter of a statement.</summary>
    public static void ParameterDescription(IBufferWriter<byte> writer, IReadOnlyList<int> typeOids)
    {
        Span<byte> span = Begin(writer, (byte)'t', 2 + (4 * typeOids.Count), out int total);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)typeOids.Count);
        for (int i = 0; i < typeOids.Count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[(7 + (4 * i))..], typeOids[i]);
        }

        writer.Advance(total);
    }

    /// <summary><c>RowDescription</c> for the extended protocol: each column's type OID and the format it is sent in.</summary>
    public static void RowDescription(IBufferWriter<byte> writer, IReadOnlyList<PgColumn> columns, short[] formats)
    {
        var names = new string[columns.Count];
        var oids = new int[columns.Count];
        for (int i = 0; i < names.Length; i++)
        {
            (names[i], oids[i]) = (columns[i].Name, columns[i].TypeOid);
        }

        RowDescription(writer, names, oids, formats);
    }

    /// <summary><c>DataRow</c> whose fields (each an int32 length and its bytes) are already encoded.</summary>
    public static void DataRow(IBufferWriter<byte> writer, int columns, ReadOnlySpan<byte> fields)
    {
        Span<byte> span = Begin(writer, (byte)'D', 2 + fields.Length, out int total);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)columns);
        fields.CopyTo(span[7..]);
        writer.Advance(total);
    }

    /// <summary><c>RowDescription</c>: every column in text format, with its type OID.</summary>
    public static void RowDescription(IBufferWriter<byte> writer, IReadOnlyList<string> names, IReadOnlyList<int> typeOids) =>
        RowDescription(writer, names, typeOids, []);

    private static void RowDescription(IBufferWriter<byte> writer, IReadOnlyList<string> names, IReadOnlyList<int> typeOids, short[] formats)
    {
        int length = 2;
        foreach (string name in names)
        {
            length += CStringLength(name) + 18;
        }

        Span<byte> span = Begin(writer, (byte)'T', length, out int total);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)names.Count);
        int at = 7;
        for (int i = 0; i < names.Count; i++)
        {
            at += WriteCString(span[at..], names[i]);
            BinaryPrimitives.WriteInt32BigEndian(span[at..], 0); // table OID
            BinaryPrimitives.WriteInt16BigEndian(span[(at + 4)..], 0); // column number
            BinaryPrimitives.WriteInt32BigEndian(span[(at + 6)..], typeOids[i]);
            BinaryPrimitives.WriteInt16BigEndian(span[(at + 10)..], -1); // type size: variable
            BinaryPrimitives.WriteInt32BigEndian(span[(at + 12)..], -1); // type modifier
            BinaryPrimitives.WriteInt16BigEndian(span[(at + 16)..], PgBindMessage.Format(formats, i));
            at += 18;
        }

        writer.Advance(total);
    }

    /// <summary><c>DataRow</c>: each value in text format, <see langword="null"/> as SQL NULL (length -1).</summary>
    public static void DataRow(IBufferWriter<byte> writer, IReadOnlyList<string?> values)
    {
        int length = 2;
        foreach (string? value in values)
        {
            length += 4 + (value is null ? 0 : s_utf8.GetByteCount(value));
        }

        Span<byte> span = Begin(writer, (byte)'D', length, out int total);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)values.Count);
        int at = 7;
        foreach (string? value in values)
        {
            if (value is null)
            {
                BinaryPrimitives.WriteInt32BigEndian(span[at..], -1);
                at += 4;
                continue;
            }

            int written = s_utf8.GetBytes(value, span[(at + 4)..]);
            BinaryPrimitives.WriteInt32BigEndian(span[at..], written);
            at += 4 + written;
        }

        writer.Advance(total);
    }

    private static void Authentication(IBufferWriter<byte> writer, int code, ReadOnlySpan<byte> data)
    {
        Span<byte> span = Begin(writer, (byte)'R', 4 + data.Length, out int total);
        BinaryPrimitives.WriteInt32BigEndian(span[5..], code);
        data.CopyTo(span[9..]);
        writer.Advance(total);
    }

    private static Span<byte> Begin(IBufferWriter<byte> writer, byte type, int bodyLength, out int total)
    {
        total = 5 + bodyLength;
        Span<byte> span = writer.GetSpan(total);
        span[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4 + bodyLength);
        return span;
    }

    private static int CStringLength(string value) => s_utf8.GetByteCount(value) + 1;

    private static int WriteCString(Span<byte> span, string value)
    {
        int written = s_utf8.GetBytes(value, span);
        span[written] = 0;
        return written + 1;
    }
}
