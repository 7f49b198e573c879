using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>A column as SQLite declares it.</summary>
/// <param name="Name">The column name as declared.</param>
/// <param name="DeclaredType">The declared type text, e.g. <c>NUMERIC(10, 2)</c>; empty when none was declared.</param>
/// <param name="PrimaryKeyOrdinal">1-based position in the primary key, 0 when not part of it.</param>
internal sealed record TableColumn(string Name, string DeclaredType, int PrimaryKeyOrdinal)
{
    /// <summary>Gets whether the declared type is a boolean (stored by SQLite as 0/1).</summary>
    public bool IsBoolean => DeclaredType.Contains("BOOL", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A table with its columns, read from SQLite's own catalog.</summary>
/// <param name="Name">The table name as declared.</param>
/// <param name="Columns">The columns in declaration order.</param>
internal sealed record TableInfo(string Name, IReadOnlyList<TableColumn> Columns)
{
    /// <summary>Gets the table name quoted as an SQL identifier.</summary>
    public string QuotedName => Quote(Name);

    /// <summary>Finds a column by name, case-insensitively as SQLite does; <see langword="null"/> when it does not exist.</summary>
    public TableColumn? FindColumn(string name) =>
        Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Quotes a name (that came from the catalog) as an SQL identifier.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>Looks tables and columns up in SQLite's catalog, so user-supplied names are validated, never interpolated.</summary>
internal static class TableCatalog
{
    /// <summary>Lists the user tables (not SQLite's internal ones), by name.</summary>
    public static List<TableInfo> ListTables(SqliteConnection connection)
    {
        var names = new List<string>();
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        return names.Select(name => FindTable(connection, name)!).ToList();
    }

    /// <summary>Finds a table by name, case-insensitively as SQLite does; <see langword="null"/> when it does not exist.</summary>
    public static TableInfo? FindTable(SqliteConnection connection, string name)
    {
        string? declared = null;
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name = $name COLLATE NOCASE AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
            command.Parameters.AddWithValue("$name", name);
            declared = command.ExecuteScalar() as string;
        }

        if (declared is null)
        {
            return null;
        }

        var columns = new List<TableColumn>();
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, type, pk FROM pragma_table_info($name) ORDER BY cid";
            command.Parameters.AddWithValue("$name", declared);
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                columns.Add(new TableColumn(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }

        return new TableInfo(declared, columns);
    }
}
