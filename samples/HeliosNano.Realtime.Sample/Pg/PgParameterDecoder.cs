using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Binds a <c>Bind</c> message's parameter values to a SQLite statement: text or binary format, decoded by the type
/// the client gave in <c>Parse</c> into what SQLite stores (INTEGER, REAL, TEXT, BLOB), in the forms the dialect
/// shim uses (<c>now()</c>'s ISO time text, UUIDs as text, booleans as 0/1).
/// </summary>
internal static class PgParameterDecoder
{
    private static readonly DateTime s_epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Binds <paramref name="value"/> (<see langword="null"/>: SQL NULL) to parameter <paramref name="index"/> (1-based).</summary>
    /// <exception cref="PgErrorException">The value does not read as its type (22P02, 22003, 22007) or the binary format of the type is not supported (0A000).</exception>
    public static void Bind(sqlite3_stmt statement, int index, int oid, short format, byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(statement);
        if (index == 0)
        {
            return; // The SQL does not use this parameter.
        }

        int rc = value is null ? raw.sqlite3_bind_null(statement, index)
            : format == 0 ? BindText(statement, index, oid, value)
            : BindBinary(statement, index, oid, value);
        if (rc != raw.SQLITE_OK)
        {
            throw new PgErrorException("XX000", $"could not bind parameter ${index}: SQLite error {rc}");
        }
    }

    private static int BindText(sqlite3_stmt statement, int index, int oid, byte[] value)
    {
        switch (oid)
        {
            case PgOid.Int2 or PgOid.Int4 or PgOid.Int8 or PgOid.Oid:
                return long.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out long number)
                    ? raw.sqlite3_bind_int64(statement, index, number)
                    : throw Invalid("integer", value);
            case PgOid.Float4 or PgOid.Float8:
                return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double real)
                    ? raw.sqlite3_bind_double(statement, index, real)
                    : throw Invalid("double precision", value);
            case PgOid.Bool:
                return raw.sqlite3_bind_int64(statement, index, ParseBool(value) ? 1 : 0);
            case PgOid.Bytea:
                return raw.sqlite3_bind_blob(statement, index, ParseBytea(value));
            default:
                return raw.sqlite3_bind_text(statement, index, value.AsSpan());
        }
    }

    private static int BindBinary(sqlite3_stmt statement, int index, int oid, byte[] value)
    {
        ReadOnlySpan<byte> data = value;
        switch (oid)
        {
            case PgOid.Int2:
                return raw.sqlite3_bind_int64(statement, index, BinaryPrimitives.ReadInt16BigEndian(Sized(data, 2)));
            case PgOid.Int4:
                return raw.sqlite3_bind_int64(statement, index, BinaryPrimitives.ReadInt32BigEndian(Sized(data, 4)));
            case PgOid.Oid:
                return raw.sqlite3_bind_int64(statement, index, BinaryPrimitives.ReadUInt32BigEndian(Sized(data, 4)));
            case PgOid.Int8:
                return raw.sqlite3_bind_int64(statement, index, BinaryPrimitives.ReadInt64BigEndian(Sized(data, 8)));
            case PgOid.Float4:
                return raw.sqlite3_bind_double(statement, index, BinaryPrimitives.ReadSingleBigEndian(Sized(data, 4)));
            case PgOid.Float8:
                return raw.sqlite3_bind_double(statement, index, BinaryPrimitives.ReadDoubleBigEndian(Sized(data, 8)));
            case PgOid.Bool:
                return raw.sqlite3_bind_int64(statement, index, Sized(data, 1)[0] != 0 ? 1 : 0);
            case PgOid.Bytea:
                return raw.sqlite3_bind_blob(statement, index, data);
            case PgOid.Uuid:
                return raw.sqlite3_bind_text(statement, index, new Guid(Sized(data, 16), bigEndian: true).ToString("D"));
            case PgOid.Numeric:
                return raw.sqlite3_bind_text(statement, index, ReadNumeric(data));
            case PgOid.Timestamp or PgOid.TimestampTz:
                return raw.sqlite3_bind_text(statement, index, FormatTimestamp(BinaryPrimitives.ReadInt64BigEndian(Sized(data, 8)), oid == PgOid.TimestampTz));
            case PgOid.Date:
                return raw.sqlite3_bind_text(statement, index, FormatDate(BinaryPrimitives.ReadInt32BigEndian(Sized(data, 4))));
            case PgOid.Jsonb:
                return data.Length > 0 && data[0] == 1
                    ? raw.sqlite3_bind_text(statement, index, data[1..])
                    : throw new PgErrorException("22P02", "unsupported jsonb version number");
            case var _ when PgOid.IsTextLike(oid):
                return raw.sqlite3_bind_text(statement, index, data);
            default:
                throw new PgErrorException("0A000", string.Create(CultureInfo.InvariantCulture, $"this sample cannot read parameters of type OID {oid} in binary format; send it in text format or as one of int2/int4/int8, float4/float8, bool, text, numeric, timestamp(tz), date, uuid, bytea, json(b)"));
        }
    }

    /// <summary>Gets a <c>timestamp</c> (microseconds since 2000-01-01) as the text the dialect shim's <c>now()</c> writes.</summary>
    internal static string FormatTimestamp(long microseconds, bool utc) => microseconds switch
    {
        long.MaxValue => "infinity",
        long.MinValue => "-infinity",
        _ => s_epoch.AddTicks(checked(microseconds * 10)).ToString(utc ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'+00:00'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
    };

    private static string FormatDate(int days) =>
        DateOnly.FromDateTime(s_epoch).AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string ReadNumeric(ReadOnlySpan<byte> data)
    {
        try
        {
            return PgNumeric.Read(data);
        }
        catch (FormatException ex)
        {
            throw new PgErrorException("22P02", ex.Message);
        }
        catch (OverflowException)
        {
            throw new PgErrorException("22003", "numeric value out of the range this sample stores (a .NET decimal)");
        }
    }

    private static ReadOnlySpan<byte> Sized(ReadOnlySpan<byte> data, int size) =>
        data.Length == size ? data : throw new PgErrorException("22P03", string.Create(CultureInfo.InvariantCulture, $"incorrect binary data format in bind parameter: {data.Length} bytes where {size} were expected"));

    private static bool ParseBool(byte[] value)
    {
        string text = Encoding.UTF8.GetString(value).Trim().ToLowerInvariant();
        return text switch
        {
            "t" or "true" or "y" or "yes" or "on" or "1" => true,
            "f" or "false" or "n" or "no" or "off" or "0" => false,
            _ => throw Invalid("boolean", value),
        };
    }

    private static byte[] ParseBytea(byte[] value)
    {
        string text = Encoding.UTF8.GetString(value);
        if (!text.StartsWith(@"\x", StringComparison.Ordinal))
        {
            return value; // The escape format's plain bytes; its backslash escapes are not decoded here.
        }

        try
        {
            return Convert.FromHexString(text.AsSpan(2));
        }
        catch (FormatException)
        {
            throw Invalid("bytea", value);
        }
    }

    private static PgErrorException Invalid(string type, byte[] value) =>
        new("22P02", $"invalid input syntax for type {type}: \"{Encoding.UTF8.GetString(value)}\"");
}
