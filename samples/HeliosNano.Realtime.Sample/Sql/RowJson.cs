using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>Writes SQLite rows as JSON objects with the JSON types PostgREST would use.</summary>
internal static class RowJson
{
    /// <summary>Writer options for JSON responses: readable (no \u0027 for quotes); the content type is always JSON.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes every remaining row of <paramref name="reader"/> as objects into the current JSON array; returns the count.
    /// </summary>
    /// <exception cref="ResponseTooLargeException">The JSON written so far would exceed <paramref name="maxBytes"/>.</exception>
    public static int WriteRows(Utf8JsonWriter writer, SqliteDataReader reader, long maxBytes)
    {
        int fieldCount = reader.FieldCount;
        var names = new string[fieldCount];
        var booleans = new bool[fieldCount];
        for (int i = 0; i < fieldCount; i++)
        {
            names[i] = reader.GetName(i);

            // For table columns SQLite reports the declared type; BOOLEAN values are stored as 0/1.
            booleans[i] = reader.GetDataTypeName(i).Contains("BOOL", StringComparison.OrdinalIgnoreCase);
        }

        int count = 0;
        while (reader.Read())
        {
            writer.WriteStartObject();
            for (int i = 0; i < fieldCount; i++)
            {
                object value = reader.GetValue(i);

                // Checked before each value is written, so one huge value cannot overshoot the cap either (its JSON is
                // at least as long as its characters, and twice its bytes for a blob).
                long size = value switch { string text => text.Length, byte[] bytes => 2L * bytes.Length, _ => 0 };
                if (writer.BytesCommitted + writer.BytesPending + size + names[i].Length > maxBytes)
                {
                    throw new ResponseTooLargeException(maxBytes);
                }

                writer.WritePropertyName(names[i]);
                WriteValue(writer, value, booleans[i]);
            }

            writer.WriteEndObject();
            count++;
        }

        return count;
    }

    private static void WriteValue(Utf8JsonWriter writer, object value, bool boolean)
    {
        switch (value)
        {
            case DBNull:
                writer.WriteNullValue();
                break;
            case long l when boolean:
                writer.WriteBooleanValue(l != 0);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double d:
                writer.WriteStringValue(d.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                // Postgres' JSON form of bytea.
                writer.WriteStringValue("\\x" + Convert.ToHexStringLower(bytes));
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}
