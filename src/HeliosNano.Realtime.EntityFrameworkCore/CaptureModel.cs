using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// The EF relational model of one context type read once: every table with its schema, columns and PostgreSQL type
/// names, and for every entity type which columns of which tables its properties fill (owned types, table splitting,
/// TPH/TPT/TPC, join tables and shadow properties all come out of <c>GetTableMappings()</c>).
/// </summary>
internal sealed partial class CaptureModel
{
    private readonly Dictionary<IEntityType, EntityTableMap[]> _entities = [];

    public CaptureModel(IModel model, ChangeNotifier notifier, string defaultSchema, string? providerName)
    {
        StoreTypeDialect dialect = PostgresTypeNames.DialectOf(providerName);
        SqliteStorage = dialect == StoreTypeDialect.Sqlite;
        var tables = new Dictionary<ITable, TableMap>();
        foreach (IEntityType entityType in model.GetEntityTypes())
        {
            var maps = new List<EntityTableMap>();
            foreach (ITableMapping mapping in entityType.GetTableMappings())
            {
                if (!tables.TryGetValue(mapping.Table, out TableMap? table))
                {
                    table = new TableMap(mapping.Table, notifier, mapping.Table.Schema ?? defaultSchema, dialect);
                    tables.Add(mapping.Table, table);
                }

                if (entityType.IsMappedToJson())
                {
                    continue; // a ToJson owned type lives inside one JSON column of its owner: not a column set of its own
                }

                maps.Add(new EntityTableMap(table, mapping, entityType.GetRootType()));
            }

            _entities[entityType] = [.. maps];
        }

        Tables = [.. tables.Values];
    }

    /// <summary>Gets every table of the model.</summary>
    public TableMap[] Tables { get; }

    /// <summary>Gets a value indicating whether values are written as SQLite stores them (else as PostgreSQL's <c>to_json</c>).</summary>
    public bool SqliteStorage { get; }

    /// <summary>Returns whether any table of the model is watched: a few memory reads per table, nothing allocated.</summary>
    public bool AnyWatched()
    {
        foreach (TableMap table in Tables)
        {
            if (table.Handle.IsWatched)
            {
                return true;
            }
        }

        return false;
    }

    public EntityTableMap[] For(IEntityType entityType) => _entities.TryGetValue(entityType, out EntityTableMap[]? maps) ? maps : [];

    /// <summary>
    /// Finds the table a bulk statement writes: the first name after UPDATE or FROM that is a table of the model
    /// (<c>UPDATE "orders" AS "o"</c>, <c>UPDATE orders AS o</c>, <c>DELETE FROM [o] FROM [sales].[orders] AS [o]</c>).
    /// </summary>
    public TableMap? FindTableIn(string sql)
    {
        foreach (System.Text.RegularExpressions.Match match in TableReference().Matches(sql))
        {
            string schema = match.Groups["schema"].Success ? Unquote(match.Groups["schema"].Value) : "";
            string name = Unquote(match.Groups["name"].Value);
            foreach (TableMap table in Tables)
            {
                if (string.Equals(table.Name, name, StringComparison.Ordinal) && (schema.Length == 0 || string.Equals(table.Table.Schema ?? table.Schema, schema, StringComparison.Ordinal)))
                {
                    return table;
                }
            }
        }

        return null;
    }

    private static string Unquote(string identifier) => identifier.Trim('"', '[', ']', '`');

    [System.Text.RegularExpressions.GeneratedRegex("""\b(?:UPDATE|FROM)\s+(?:(?<schema>"[^"]+"|\[[^\]]+\]|`[^`]+`|\w+)\.)?(?<name>"[^"]+"|\[[^\]]+\]|`[^`]+`|\w+)""", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TableReference();
}

/// <summary>One table: its notifier handle, its columns in model order and which of them form the primary key.</summary>
internal sealed class TableMap
{
    public TableMap(ITable table, ChangeNotifier notifier, string schema, StoreTypeDialect dialect)
    {
        Table = table;
        Schema = schema;
        Name = table.Name;
        Handle = notifier.GetTable(schema, table.Name);
        IColumn[] columns = [.. table.Columns];
        Columns = new ColumnMap[columns.Length];
        var index = new Dictionary<IColumn, int>();
        for (int i = 0; i < columns.Length; i++)
        {
            IColumn column = columns[i];
            Columns[i] = new ColumnMap(column.Name, PostgresTypeNames.For(column.StoreType, column.ProviderClrType, dialect));
            index[column] = i;
        }

        ColumnIndex = index;
        KeyColumns = table.PrimaryKey is { } key ? [.. key.Columns.Select(c => index[(IColumn)c])] : [];
        IsShared = table.EntityTypeMappings.Count() > 1;
        ColumnRoots = new IEntityType?[columns.Length];
        for (int i = 0; i < columns.Length; i++)
        {
            IEntityType[] roots = [.. columns[i].PropertyMappings.Select(m => m.TableMapping.TypeBase).OfType<IEntityType>().Select(t => t.GetRootType()).Distinct()];
            ColumnRoots[i] = roots.Length == 1 ? roots[0] : null;
        }

        ChangeColumns = [.. Columns.Select(c => new ChangeColumn(c.Name, c.TypeName))];
        Handle.SetColumns(ChangeColumns);
        PublishedColumns = Handle.Columns;
    }

    public ITable Table { get; }

    public string Schema { get; }

    public string Name { get; }

    public ChangeTable Handle { get; }

    public ColumnMap[] Columns { get; }

    public IReadOnlyDictionary<IColumn, int> ColumnIndex { get; }

    /// <summary>Gets the column indexes of the primary key, in key order.</summary>
    public int[] KeyColumns { get; }

    /// <summary>Gets a value indicating whether several entity types map to the table (table splitting, owned types, TPH).</summary>
    public bool IsShared { get; }

    public ChangeColumn[] ChangeColumns { get; }

    /// <summary>
    /// Gets, per column, the one hierarchy root whose types fill it, or null when types of several hierarchies do (table
    /// splitting, owned types): a column of a sibling TPH type is NULL in a row; one of an untracked dependent is unknown.
    /// </summary>
    public IEntityType?[] ColumnRoots { get; }

    /// <summary>Gets or sets the column list last set on the handle, to notice when other code replaced it.</summary>
    public IReadOnlyList<ChangeColumn> PublishedColumns { get; set; }

    /// <summary>Sets the handle's columns again if other code (another capture of the same table name) replaced them.</summary>
    public void EnsureColumns()
    {
        if (!ReferenceEquals(Handle.Columns, PublishedColumns))
        {
            Handle.SetColumns(ChangeColumns);
            PublishedColumns = Handle.Columns;
        }
    }

    public override string ToString() => $"{Schema}.{Name}";
}

/// <summary>One column: its encoded name and PostgreSQL type name.</summary>
internal sealed class ColumnMap(string name, string typeName)
{
    public string Name { get; } = name;

    public JsonEncodedText EncodedName { get; } = JsonEncodedText.Encode(name);

    public string TypeName { get; } = typeName;
}

/// <summary>Which columns of one table an entity type's properties fill, with the converter to the provider value.</summary>
internal sealed class EntityTableMap
{
    public EntityTableMap(TableMap table, ITableMapping mapping, IEntityType rootType)
    {
        Table = table;
        RootType = rootType;
        var columns = new List<PropertyColumn>();
        foreach (IColumnMapping columnMapping in mapping.ColumnMappings)
        {
            columns.Add(new PropertyColumn(table.ColumnIndex[columnMapping.Column], columnMapping.Property, columnMapping.TypeMapping.Converter));
        }

        Columns = [.. columns];
        var keys = new IProperty[table.KeyColumns.Length];
        for (int k = 0; k < keys.Length; k++)
        {
            keys[k] = columns.First(c => c.ColumnIndex == table.KeyColumns[k]).Property;
        }

        KeyProperties = keys;
    }

    public TableMap Table { get; }

    /// <summary>Gets the root of the entity type's hierarchy: columns of sibling TPH types are NULL in its rows.</summary>
    public IEntityType RootType { get; }

    public PropertyColumn[] Columns { get; }

    /// <summary>Gets the properties that hold the table's primary key columns, in key order.</summary>
    public IProperty[] KeyProperties { get; }
}

/// <summary>A property, the column it fills and the converter its value goes through on its way to the database.</summary>
internal readonly record struct PropertyColumn(int ColumnIndex, IProperty Property, ValueConverter? Converter)
{
    public object? ToProvider(object? value) => Converter is null || value is null ? value : Converter.ConvertToProvider(value);
}
