using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    // ---------------------------------------------------------------- record JSON

    /// <summary>
    /// Text longer than this is written into the record in segments (Utf8JsonWriter refuses a single string value of more
    /// than about 166 million bytes, and one segment call needs no copy of the whole value).
    /// </summary>
    private const int TextSegmentThreshold = 64 * 1024;

    /// <summary>Blob bytes hex-encoded per segment: 16 KiB of hex on the stack, so no string of the whole value is built.</summary>
    private const int HexChunk = 8 * 1024;

    private static void WriteRow(Utf8JsonWriter writer, RowRef row, RowImage image)
    {
        SqliteChangeCapture capture = row.Capture;
        PendingChange change = capture._changes[row.Index];
        int start = image == RowImage.New ? change.NewStart : change.OldStart;
        if (start < 0)
        {
            return;
        }

        TableMetadata metadata = change.Metadata;
        writer.WriteStartObject();
        for (int i = 0; i < change.ColumnCount; i++)
        {
            CapturedValue value = capture._values[start + i];
            if (metadata.Formats[i] == ColumnFormat.NumericString && value.Type is SqliteNative.TypeInteger or SqliteNative.TypeFloat)
            {
                WriteNumericString(writer, metadata.Names[i], metadata.NumericFormats[i], value);
            }
            else
            {
                WriteValue(writer, metadata.Names[i], metadata.Formats[i], value, capture._bytes);
            }
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonEncodedText name, ColumnFormat format, CapturedValue value, byte[] bytes)
    {
        switch (value.Type)
        {
            case SqliteNative.TypeInteger when format == ColumnFormat.Boolean:
                writer.WriteBoolean(name, value.Integer != 0);
                break;
            case SqliteNative.TypeInteger:
                writer.WriteNumber(name, value.Integer);
                break;
            case SqliteNative.TypeFloat when format == ColumnFormat.Boolean:
                writer.WriteBoolean(name, value.Real != 0);
                break;
            case SqliteNative.TypeFloat when double.IsFinite(value.Real):
                writer.WriteNumber(name, value.Real);
                break;
            case SqliteNative.TypeFloat:
                // JSON has no infinities; PostgreSQL's to_json writes them as these strings (SQLite stores NaN as NULL).
                writer.WriteString(name, value.Real > 0 ? "Infinity" : "-Infinity");
                break;
            case SqliteNative.TypeText:
                ReadOnlySpan<byte> text = bytes.AsSpan(value.Offset, value.Length);
                bool valid = Utf8.IsValid(text);
                // Raw JSON only when it is valid UTF-8 too: Utf8JsonReader accepts invalid bytes inside strings, and a
                // record (a WebSocket text frame) must be valid UTF-8. Invalid JSON text goes the string way below.
                if (format == ColumnFormat.Json && valid && IsJsonValue(text))
                {
                    writer.WritePropertyName(name);
                    writer.WriteRawValue(text, skipInputValidation: true);
                }
                else if (!valid)
                {
                    writer.WritePropertyName(name);
                    WriteTextSegments(writer, Encoding.UTF8.GetString(text)); // invalid sequences become U+FFFD
                }
                else if (text.Length > TextSegmentThreshold)
                {
                    writer.WritePropertyName(name);
                    WriteTextSegments(writer, text);
                }
                else
                {
                    writer.WriteString(name, text);
                }

                break;
            case SqliteNative.TypeBlob:
                writer.WritePropertyName(name);
                WriteHex(writer, bytes.AsSpan(value.Offset, value.Length));
                break;
            default:
                writer.WriteNull(name);
                break;
        }
    }

    /// <summary>Writes PostgreSQL's bytea text form, <c>\x</c> and lower-case hex, hex-encoding a chunk at a time.</summary>
    private static void WriteHex(Utf8JsonWriter writer, ReadOnlySpan<byte> data)
    {
        Span<byte> hex = stackalloc byte[2 + (2 * HexChunk)];
        hex[0] = (byte)'\\';
        hex[1] = (byte)'x';
        int take = Math.Min(data.Length, HexChunk);
        Convert.TryToHexStringLower(data[..take], hex[2..], out int written);
        data = data[take..];
        if (data.IsEmpty)
        {
            writer.WriteStringValue(hex[..(2 + written)]);
            return;
        }

        writer.WriteStringValueSegment(hex[..(2 + written)], isFinalSegment: false);
        while (!data.IsEmpty)
        {
            take = Math.Min(data.Length, HexChunk);
            Convert.TryToHexStringLower(data[..take], hex, out written);
            data = data[take..];
            writer.WriteStringValueSegment(hex[..written], isFinalSegment: data.IsEmpty);
        }
    }

    private static void WriteTextSegments(Utf8JsonWriter writer, ReadOnlySpan<byte> utf8)
    {
        do
        {
            // the writer carries a code point split between segments over to the next one
            int take = Math.Min(utf8.Length, TextSegmentThreshold);
            writer.WriteStringValueSegment(utf8[..take], isFinalSegment: take == utf8.Length);
            utf8 = utf8[take..];
        }
        while (!utf8.IsEmpty);
    }

    private static void WriteTextSegments(Utf8JsonWriter writer, ReadOnlySpan<char> text)
    {
        do
        {
            int take = Math.Min(text.Length, TextSegmentThreshold);
            if (take < text.Length && char.IsHighSurrogate(text[take - 1]))
            {
                take--; // keep a surrogate pair in one segment
            }

            writer.WriteStringValueSegment(text[..take], isFinalSegment: take == text.Length);
            text = text[take..];
        }
        while (!text.IsEmpty);
    }

    private static void WriteNumericString(Utf8JsonWriter writer, JsonEncodedText name, string format, CapturedValue value)
    {
        if (value.Type == SqliteNative.TypeFloat && !double.IsFinite(value.Real))
        {
            writer.WriteString(name, value.Real > 0 ? "Infinity" : "-Infinity");
            return;
        }

        Span<byte> text = stackalloc byte[128];
        string? integerFormat = format == "R" ? null : format; // "R" is for doubles; an integer's plain form is already exact
        bool formatted = value.Type == SqliteNative.TypeInteger
            ? value.Integer.TryFormat(text, out int written, integerFormat, CultureInfo.InvariantCulture)
            : value.Real.TryFormat(text, out written, format, CultureInfo.InvariantCulture);
        if (formatted)
        {
            writer.WriteString(name, text[..written]);
        }
        else
        {
            // longer than the stack buffer (a huge value with a large scale)
            writer.WriteString(name, value.Type == SqliteNative.TypeInteger
                ? value.Integer.ToString(integerFormat, CultureInfo.InvariantCulture)
                : value.Real.ToString(format, CultureInfo.InvariantCulture));
        }
    }

    private static bool IsJsonValue(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(text);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
