using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Writes one result value of a SQLite statement's current row as a <c>DataRow</c> field (an int32 length, -1 for
/// NULL, then the bytes) in text or binary format, by the column's PostgreSQL type OID.
/// </summary>
/// <remarks>
/// SQLite keeps what it was given (its columns have affinities, not types), so a value is converted to the column's
/// type here; one that does not convert (text in an <c>int4</c> column) fails the statement with PostgreSQL's SQLSTATE
/// rather than sending bytes the driver would misread.
/// </remarks>
internal static class PgValueEncoder
{
    private static readonly DateTime s_epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Writes column <paramref name="column"/> of the current row of <paramref name="statement"/>.</summary>
    /// <exception cref="PgErrorException">The value does not convert to the column's type in binary format.</exception>
    public static void Write(sqlite3_stmt statement, int column, int oid, short format, ArrayBufferWriter<byte> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        int type = raw.sqlite3_column_type(statement, column);
        if (type == raw.SQLITE_NULL)
        {
            BinaryPrimitives.WriteInt32BigEndian(row.GetSpan(4), -1);
            row.Advance(4);
            return;
        }

        row.GetSpan(4);
        row.Advance(4);
        int before = row.WrittenCount;
        if (format == 0)
        {
            WriteText(statement, column, oid, type, row);
        }
        else
        {
            WriteBinary(statement, column, oid, type, row);
        }

        // GetSpan may have moved the buffer since: write the length through the written memory, not an older span.
        BinaryPrimitives.WriteInt32BigEndian(Written(row, before - 4), row.WrittenCount - before);
    }

    private static Span<byte> Written(ArrayBufferWriter<byte> row, int at) =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(row.WrittenMemory).Span.Slice(at, 4);

    private static void WriteText(sqlite3_stmt statement, int column, int oid, int type, ArrayBufferWriter<byte> row)
    {
        switch (type)
        {
            case raw.SQLITE_INTEGER when oid == PgOid.Bool:
                Put(row, raw.sqlite3_column_int64(statement, column) != 0 ? "t"u8 : "f"u8);
                break;
            case raw.SQLITE_INTEGER:
                Format(row, raw.sqlite3_column_int64(statement, column), null);
                break;
            case raw.SQLITE_FLOAT:
                Format(row, raw.sqlite3_column_double(statement, column), "R");
                break;
            case raw.SQLITE_BLOB:
                ReadOnlySpan<byte> blob = raw.sqlite3_column_blob(statement, column);
                Put(row, @"\x"u8);
                Span<byte> hex = row.GetSpan(blob.Length * 2);
                Convert.TryToHexStringLower(blob, hex, out int written);
                row.Advance(written);
                break;
            default:
                Put(row, raw.sqlite3_column_blob(statement, column));
                break;
        }
    }

    private static void WriteBinary(sqlite3_stmt statement, int column, int oid, int type, ArrayBufferWriter<byte> row)
    {
        switch (oid)
        {
            case PgOid.Int2:
                BinaryPrimitives.WriteInt16BigEndian(Take(row, 2), checked((short)Integer(statement, column, type, "smallint")));
                break;
            case PgOid.Int4:
                long value = Integer(statement, column, type, "integer");
                BinaryPrimitives.WriteInt32BigEndian(Take(row, 4), value is >= int.MinValue and <= int.MaxValue ? (int)value : throw new PgErrorException("22003", "integer out of range"));
                break;
            case PgOid.Int8 or PgOid.Oid:
                BinaryPrimitives.WriteInt64BigEndian(Take(row, 8), Integer(statement, column, type, "bigint"));
                break;
            case PgOid.Float4:
                BinaryPrimitives.WriteSingleBigEndian(Take(row, 4), (float)Real(statement, column, type));
                break;
            case PgOid.Float8:
                BinaryPrimitives.WriteDoubleBigEndian(Take(row, 8), Real(statement, column, type));
                break;
            case PgOid.Bool:
                Take(row, 1)[0] = type == raw.SQLITE_TEXT ? (byte)(Text(statement, column) is "t" or "true" or "1" ? 1 : 0) : (byte)(raw.sqlite3_column_int64(statement, column) != 0 ? 1 : 0);
                break;
            case PgOid.Numeric:
                decimal number = Decimal(statement, column, type);
                row.Advance(PgNumeric.Write(number, row.GetSpan(PgNumeric.Length(number))));
                break;
            case PgOid.Timestamp or PgOid.TimestampTz:
                BinaryPrimitives.WriteInt64BigEndian(Take(row, 8), (Timestamp(statement, column, type).Ticks - s_epoch.Ticks) / 10);
                break;
            case PgOid.Date:
                BinaryPrimitives.WriteInt32BigEndian(Take(row, 4), (int)((Timestamp(statement, column, type).Date.Ticks - s_epoch.Ticks) / TimeSpan.TicksPerDay));
                break;
            case PgOid.Uuid:
                ReadOnlySpan<byte> bytes = raw.sqlite3_column_blob(statement, column);
                Guid guid = type == raw.SQLITE_BLOB && bytes.Length == 16 ? new Guid(bytes, bigEndian: true)
                    : Guid.TryParse(Text(statement, column), out Guid parsed) ? parsed
                    : throw new PgErrorException("22P02", $"invalid input syntax for type uuid: \"{Text(statement, column)}\"");
                guid.TryWriteBytes(Take(row, 16), bigEndian: true, out _);
                break;
            case PgOid.Jsonb:
                Take(row, 1)[0] = 1;
                WriteText(statement, column, oid, type, row);
                break;
            case PgOid.Bytea when type == raw.SQLITE_BLOB || type == raw.SQLITE_TEXT:
                Put(row, raw.sqlite3_column_blob(statement, column));
                break;
            case PgOid.Bytea:
                WriteText(statement, column, oid, type, row);
                break;
            default:
                // text, varchar, json and the like: the binary form is the text form.
                WriteText(statement, column, oid, type, row);
                break;
        }
    }

    private static long Integer(sqlite3_stmt statement, int column, int type, string name)
    {
        if (type == raw.SQLITE_INTEGER)
        {
            return raw.sqlite3_column_int64(statement, column);
        }

        double real = type == raw.SQLITE_FLOAT ? raw.sqlite3_column_double(statement, column)
            : double.TryParse(Text(statement, column), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed
            : throw new PgErrorException("22P02", $"invalid input syntax for type {name}: \"{Text(statement, column)}\"");
        return real == Math.Floor(real) && real is >= long.MinValue and <= long.MaxValue
            ? (long)real
            : throw new PgErrorException("22P02", $"invalid input syntax for type {name}: \"{real.ToString("R", CultureInfo.InvariantCulture)}\"");
    }

    private static double Real(sqlite3_stmt statement, int column, int type) =>
        type is raw.SQLITE_INTEGER or raw.SQLITE_FLOAT ? raw.sqlite3_column_double(statement, column)
            : double.TryParse(Text(statement, column), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed
            : throw new PgErrorException("22P02", $"invalid input syntax for type double precision: \"{Text(statement, column)}\"");

    private static decimal Decimal(sqlite3_stmt statement, int column, int type)
    {
        try
        {
            return type switch
            {
                raw.SQLITE_INTEGER => raw.sqlite3_column_int64(statement, column),
                raw.SQLITE_FLOAT => (decimal)raw.sqlite3_column_double(statement, column),
                _ => decimal.Parse(Text(statement, column), NumberStyles.Float, CultureInfo.InvariantCulture),
            };
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new PgErrorException("22P02", $"invalid input syntax for type numeric: \"{Text(statement, column)}\"");
        }
    }

    private static DateTime Timestamp(sqlite3_stmt statement, int column, int type)
    {
        string text = Text(statement, column);
        if (type == raw.SQLITE_TEXT && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime time))
        {
            return time;
        }

        throw new PgErrorException("22007", $"invalid input syntax for type timestamp: \"{text}\"");
    }

    private static string Text(sqlite3_stmt statement, int column) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, column));

    private static Span<byte> Take(ArrayBufferWriter<byte> row, int size)
    {
        Span<byte> span = row.GetSpan(size)[..size];
        row.Advance(size);
        return span;
    }

    private static void Put(ArrayBufferWriter<byte> row, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(row.GetSpan(bytes.Length));
        row.Advance(bytes.Length);
    }

    private static void Format<T>(ArrayBufferWriter<byte> row, T value, string? format)
        where T : IUtf8SpanFormattable
    {
        Span<byte> span = row.GetSpan(32);
        value.TryFormat(span, out int written, format, CultureInfo.InvariantCulture);
        row.Advance(written);
    }
}
