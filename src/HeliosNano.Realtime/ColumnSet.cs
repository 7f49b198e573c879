using System.Buffers;
using System.Text.Json;

namespace HeliosNano.Realtime;

/// <summary>
/// An immutable list of columns plus its JSON form (<c>[{"name":…,"type":…},…]</c>), built once per schema version of
/// a table and shared by every change captured under that version.
/// </summary>
internal sealed class ColumnSet
{
    public static readonly ColumnSet Empty = new([]);

    public ColumnSet(ChangeColumn[] columns)
    {
        Columns = columns;
        var buffer = new ArrayBufferWriter<byte>(16 + (columns.Length * 32));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (ChangeColumn column in columns)
            {
                writer.WriteStartObject();
                writer.WriteString(JsonNames.Name, column.Name);
                writer.WriteString(JsonNames.Type, column.TypeName);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        Json = buffer.WrittenSpan.ToArray();
    }

    /// <summary>Gets the columns.</summary>
    public ChangeColumn[] Columns { get; }

    /// <summary>Gets the columns as a UTF-8 JSON array.</summary>
    public byte[] Json { get; }
}
