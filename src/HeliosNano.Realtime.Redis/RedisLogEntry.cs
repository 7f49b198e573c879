using System.Buffers;
using System.Text.Json;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// The encoding of one change in the Redis stream's <c>d</c> field: a compact JSON object
/// <c>{"s":schema,"t":table,"k":kind,"ts":unix-ms,"c":[columns],"r":{record},"o":{old record}}</c>, whose row images
/// are copied verbatim (they were validated when captured).
/// </summary>
internal static class RedisLogEntry
{
    public static byte[] Encode(ChangeEvent change)
    {
        var buffer = new ArrayBufferWriter<byte>(96 + change.Record.Length + change.OldRecord.Length + change.ColumnsJson.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("s"u8, change.Schema);
            writer.WriteString("t"u8, change.Table);
            writer.WriteNumber("k"u8, (int)change.Kind);
            writer.WriteNumber("ts"u8, change.CommitTimestamp.ToUnixTimeMilliseconds());
            writer.WritePropertyName("c"u8);
            writer.WriteRawValue(change.ColumnsJson.Span, skipInputValidation: true);
            if (change.HasRecord)
            {
                writer.WritePropertyName("r"u8);
                writer.WriteRawValue(change.Record.Span, skipInputValidation: true);
            }

            if (change.HasOldRecord)
            {
                writer.WritePropertyName("o"u8);
                writer.WriteRawValue(change.OldRecord.Span, skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes an entry; the images and columns are slices of <paramref name="data"/>.</summary>
    /// <exception cref="JsonException">The entry is not one this package wrote.</exception>
    public static Decoded Decode(ReadOnlyMemory<byte> data)
    {
        var reader = new Utf8JsonReader(data.Span);
        Decoded result = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A log entry must be a JSON object.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("s"u8))
            {
                reader.Read();
                result.Schema = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("t"u8))
            {
                reader.Read();
                result.Table = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("k"u8))
            {
                reader.Read();
                result.Kind = (ChangeKind)reader.GetInt32();
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                result.CommitTimestamp = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64());
            }
            else
            {
                bool isColumns = reader.ValueTextEquals("c"u8);
                bool isRecord = reader.ValueTextEquals("r"u8);
                bool isOld = reader.ValueTextEquals("o"u8);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                ReadOnlyMemory<byte> raw = data[start..(int)reader.BytesConsumed];
                if (isColumns)
                {
                    result.Columns = raw;
                }
                else if (isRecord)
                {
                    result.Record = raw;
                }
                else if (isOld)
                {
                    result.OldRecord = raw;
                }
            }
        }

        if (result.Schema is null || result.Table is null)
        {
            throw new JsonException("A log entry needs a schema and a table.");
        }

        return result;
    }

    /// <summary>Parses a columns array <c>[{"name":…,"type":…},…]</c>.</summary>
    public static ChangeColumn[] ParseColumns(ReadOnlySpan<byte> json)
    {
        var columns = new List<ChangeColumn>();
        var reader = new Utf8JsonReader(json);
        string? name = null;
        string? type = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isName = reader.ValueTextEquals("name"u8);
                bool isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isName)
                {
                    name = reader.GetString();
                }
                else if (isType)
                {
                    type = reader.GetString();
                }
            }
            else if (reader.TokenType == JsonTokenType.EndObject && name is not null && type is not null)
            {
                columns.Add(new ChangeColumn(name, type));
                name = type = null;
            }
        }

        return [.. columns];
    }

    /// <summary>One decoded change entry.</summary>
    public struct Decoded
    {
        public string Schema;
        public string Table;
        public ChangeKind Kind;
        public DateTimeOffset CommitTimestamp;
        public ReadOnlyMemory<byte> Columns;
        public ReadOnlyMemory<byte> Record;
        public ReadOnlyMemory<byte> OldRecord;
    }
}
