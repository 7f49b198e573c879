using System.Text.Json;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// One row a save writes: its table, kind, before image (read from the original values before the save) and after
/// image (read from the current values after it, so generated keys and computed columns are in it). A row that several
/// entries share (table splitting, owned types) is one row. A lost marker (<see cref="Lost"/>) carries no images.
/// </summary>
internal sealed class PendingRow
{
    /// <summary>Marks a column whose value the change tracker does not know (a table-split dependent that is not loaded): omitted from the image.</summary>
    public static readonly object Unknown = new();

    public PendingRow(TableMap table, ChangeKind kind)
    {
        Table = table;
        Kind = kind;
    }

    public TableMap Table { get; }

    public ChangeKind Kind { get; set; }

    /// <summary>Gets or sets a value indicating whether the change is only reported as missed (a bulk statement).</summary>
    public bool Lost { get; init; }

    public object?[]? Before { get; set; }

    public object?[]? After { get; set; }

    /// <summary>Gets the entries that fill the row, with the map of their entity type to this table.</summary>
    public List<RowSource> Sources { get; } = [];

    /// <summary>Gets the root of the hierarchy of the row's first source.</summary>
    public Microsoft.EntityFrameworkCore.Metadata.IEntityType? Root { get; set; }

    public static void WriteImage(Utf8JsonWriter writer, PendingRow row, RowImage image)
    {
        object?[]? values = image == RowImage.New ? row.After : row.Before;
        if (values is null)
        {
            return;
        }

        ColumnMap[] columns = row.Table.Columns;
        bool sqlite = row.SqliteStorage;
        writer.WriteStartObject();
        for (int i = 0; i < columns.Length; i++)
        {
            object? value = values[i];
            if (ReferenceEquals(value, Unknown))
            {
                continue;
            }

            writer.WritePropertyName(columns[i].EncodedName);
            ColumnValueWriter.Write(writer, value, columns[i].TypeName, sqlite);
        }

        writer.WriteEndObject();
    }

    public bool SqliteStorage { get; init; }
}
