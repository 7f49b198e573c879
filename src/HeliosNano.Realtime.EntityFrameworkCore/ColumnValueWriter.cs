using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// Writes a provider value (after value conversion, as the database receives it) into a record, in the form the
/// database holds it: on SQLite the text Microsoft.Data.Sqlite stores (so records equal the pre-update-hook capture's),
/// elsewhere PostgreSQL's <c>to_json</c> form of the column's type (so records equal <c>row_to_json</c>).
/// </summary>
internal static class ColumnValueWriter
{
    private const string SqliteDecimalFormat = "0.0###########################";

    public static void Write(Utf8JsonWriter writer, object? value, string typeName, bool sqliteStorage)
    {
        switch (value)
        {
            case null or DBNull:
                writer.WriteNullValue();
                break;
            case bool b when typeName == "bool":
                writer.WriteBooleanValue(b);
                break;
            case bool b:
                writer.WriteNumberValue(b ? 1 : 0);
                break;
            case string s when typeName is "jsonb" or "json" && IsJson(s):
                writer.WriteRawValue(s, skipInputValidation: true);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case short sh:
                writer.WriteNumberValue(sh);
                break;
            case byte by:
                writer.WriteNumberValue(by);
                break;
            case sbyte sb:
                writer.WriteNumberValue(sb);
                break;
            case ushort us:
                writer.WriteNumberValue(us);
                break;
            case uint ui:
                writer.WriteNumberValue(ui);
                break;
            case ulong ul:
                writer.WriteNumberValue(ul);
                break;
            case double d:
                WriteReal(writer, d);
                break;
            case float f:
                WriteReal(writer, f);
                break;
            case decimal m when sqliteStorage:
                writer.WriteStringValue(m.ToString(SqliteDecimalFormat, CultureInfo.InvariantCulture));
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case DateTime dt:
                writer.WriteStringValue(FormatDateTime(dt, typeName, sqliteStorage));
                break;
            case DateTimeOffset dto when sqliteStorage:
                writer.WriteStringValue(dto.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset dto:
                writer.WriteStringValue(dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture) + "+00:00");
                break;
            case DateOnly date:
                writer.WriteStringValue(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case TimeOnly time when sqliteStorage:
                writer.WriteStringValue(time.ToString(time.Ticks % TimeSpan.TicksPerSecond == 0 ? "HH:mm:ss" : "HH:mm:ss.fffffff", CultureInfo.InvariantCulture));
                break;
            case TimeOnly time:
                writer.WriteStringValue(time.ToString("HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture));
                break;
            case TimeSpan span when sqliteStorage:
                writer.WriteStringValue(span.ToString("c", CultureInfo.InvariantCulture));
                break;
            case TimeSpan span:
                writer.WriteStringValue(FormatInterval(span));
                break;
            case Guid guid when sqliteStorage:
                writer.WriteStringValue(guid.ToString().ToUpperInvariant());
                break;
            case Guid guid:
                writer.WriteStringValue(guid.ToString());
                break;
            case byte[] bytes:
                writer.WriteStringValue("\\x" + Convert.ToHexStringLower(bytes));
                break;
            case char c:
                writer.WriteStringValue(c.ToString());
                break;
            case JsonDocument document:
                document.WriteTo(writer);
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case IEnumerable sequence:
                string elementType = typeName.StartsWith('_') ? typeName[1..] : typeName;
                writer.WriteStartArray();
                foreach (object? item in sequence)
                {
                    Write(writer, item, elementType, sqliteStorage);
                }

                writer.WriteEndArray();
                break;
            case IFormattable formattable:
                writer.WriteStringValue(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    /// <summary>Copies a value so that the application changing its array later cannot change a captured image.</summary>
    public static object? Freeze(object? value) => value is byte[] bytes ? bytes.Clone() : value;

    private static void WriteReal(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            // JSON has no infinities or NaN: PostgreSQL's to_json writes them as these strings.
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static string FormatDateTime(DateTime value, string typeName, bool sqliteStorage)
    {
        if (sqliteStorage)
        {
            return value.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture); // Microsoft.Data.Sqlite's text form
        }

        if (typeName == "timestamptz")
        {
            DateTime utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
            return utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture) + "+00:00";
        }

        return value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture);
    }

    /// <summary>PostgreSQL's default (<c>postgres</c>) interval output: <c>1 day 02:00:00</c>, <c>3 days</c>, <c>00:00:01.5</c>.</summary>
    private static string FormatInterval(TimeSpan span)
    {
        var text = new StringBuilder();
        bool negative = span < TimeSpan.Zero;
        TimeSpan magnitude = negative ? span.Negate() : span;
        int days = magnitude.Days;
        TimeSpan time = magnitude - TimeSpan.FromDays(days);
        if (days != 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{(negative ? "-" : string.Empty)}{days} day{(days == 1 ? string.Empty : "s")}");
        }

        if (time != TimeSpan.Zero || days == 0)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            if (negative)
            {
                text.Append('-');
            }

            text.Append(CultureInfo.InvariantCulture, $"{time.Hours:00}:{time.Minutes:00}:{time.Seconds:00}");
            long fraction = time.Ticks % TimeSpan.TicksPerSecond;
            if (fraction != 0)
            {
                text.Append('.').Append((fraction / 10).ToString("000000", CultureInfo.InvariantCulture).TrimEnd('0'));
            }
        }

        return text.ToString();
    }

    private static bool IsJson(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
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
