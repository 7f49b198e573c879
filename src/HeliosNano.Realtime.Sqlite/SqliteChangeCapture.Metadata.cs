using System.Data;
using System.Text;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    // ---------------------------------------------------------------- column metadata

    private TableMetadata GetMetadata(TableState table, int count)
    {
        // One PRAGMA schema_version per statement that touches a watched table: catches DROP + CREATE with the same
        // column count and schema changes made by other connections. A column-count mismatch is caught per row.
        if (_schemaCheckedSerial != _statementSerial)
        {
            _schemaCheckedSerial = _statementSerial;
            long version = ReadSchemaVersion();
            if (version != _schemaVersion)
            {
                _schemaVersion = version;
                _metadataGeneration++;
            }
        }

        TableMetadata? metadata = table.Metadata;
        if (metadata is not null && table.MetadataGeneration == _metadataGeneration && metadata.Columns.Length == count)
        {
            return metadata;
        }

        (ChangeColumn[] columns, string[] declaredTypes, byte[]? lookupSql, int[]? lookupKey) = ReadColumns(table.Name, count);
        if (metadata is null || !columns.AsSpan().SequenceEqual(metadata.Columns) || !declaredTypes.AsSpan().SequenceEqual(metadata.DeclaredTypes)
            || !ReferenceEquals(lookupSql, metadata.LookupSql) && (lookupSql is null || metadata.LookupSql is null || !lookupSql.AsSpan().SequenceEqual(metadata.LookupSql)))
        {
            metadata = new TableMetadata(columns, declaredTypes, _numericAsString, lookupSql, lookupKey);
        }

        table.Metadata = metadata;
        table.MetadataGeneration = _metadataGeneration;
        return metadata;
    }

    /// <summary>
    /// Forgets every table's cached columns: called after anything that may have undone DDL (a rollback, ROLLBACK TO, an
    /// undone statement) and after DDL. SQLite then hands out the same schema_version again for a different schema.
    /// </summary>
    private void InvalidateMetadata()
    {
        _schemaVersion = long.MinValue;
        _metadataGeneration++;
    }

    private bool IsShadowTable(string tableName)
    {
        _queryResult = 0;
        string sql = $"SELECT type = 'shadow' FROM pragma_table_list('{tableName.Replace("'", "''", StringComparison.Ordinal)}') WHERE schema = 'main'";
        try
        {
            RunInternalQuery(Encoding.UTF8.GetBytes(sql), static (statement, self) => self._queryResult = SqliteNative.ColumnInt64(statement, 0));
        }
        catch (InvalidOperationException)
        {
            return false; // PRAGMA table_list needs SQLite 3.37; an older library has the shadow tables published
        }

        return _queryResult != 0;
    }

    private long ReadSchemaVersion()
    {
        _queryResult = 0;
        RunInternalQuery("PRAGMA main.schema_version"u8, static (statement, self) => self._queryResult = SqliteNative.ColumnInt64(statement, 0));
        return _queryResult;
    }

    private (ChangeColumn[] Columns, string[] DeclaredTypes, byte[]? LookupSql, int[]? LookupKey) ReadColumns(string tableName, int count)
    {
        // The session extension that ships with SQLite reads table_info from inside its pre-update hook the same way:
        // a read-only query on the connection, inside the transaction that is already open.
        string quotedName = tableName.Replace("'", "''", StringComparison.Ordinal);
        string sql = $"SELECT name, type, pk FROM pragma_table_xinfo('{quotedName}', 'main')";
        var rows = new List<(string Name, string Type, long Pk)>();
        RunInternalQuery(Encoding.UTF8.GetBytes(sql), (statement, _) =>
            rows.Add((SqliteNative.GetString(statement, 0) ?? string.Empty, SqliteNative.GetString(statement, 1) ?? string.Empty, SqliteNative.ColumnInt64(statement, 2))));

        int primaryKeys = 0;
        foreach ((string _, string _, long pk) in rows)
        {
            primaryKeys += pk > 0 ? 1 : 0;
        }

        var columns = new ChangeColumn[count];
        string[] declaredTypes = new string[count];
        for (int i = 0; i < count; i++)
        {
            declaredTypes[i] = i < rows.Count ? rows[i].Type : string.Empty;
            if (i < rows.Count)
            {
                (string name, string type, long pk) = rows[i];
                bool isRowIdAlias = pk > 0 && primaryKeys == 1 && type.Trim().Equals("INTEGER", StringComparison.OrdinalIgnoreCase);
                columns[i] = new ChangeColumn(name, SqliteTypeMapper.ToPostgresType(type, isRowIdAlias));
            }
            else
            {
                columns[i] = new ChangeColumn($"column{i + 1}", "text");
            }
        }

        if (rows.Count != count)
        {
            Log.ColumnCountMismatch(_logger, tableName, rows.Count, count);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.ColumnsRead(_logger, tableName, string.Join(", ", columns.Select(c => $"{c.Name} {c.TypeName}")));
        }

        if (rows.Count != count)
        {
            return (columns, declaredTypes, null, null); // the names are not trustworthy enough to look a row up by
        }

        _queryResult = 0;
        try
        {
            RunInternalQuery(Encoding.UTF8.GetBytes($"SELECT wr FROM pragma_table_list('{quotedName}') WHERE schema = 'main'"),
                static (statement, self) => self._queryResult = SqliteNative.ColumnInt64(statement, 0));
        }
        catch (InvalidOperationException)
        {
            // PRAGMA table_list needs SQLite 3.37: taken as a rowid table; for a WITHOUT ROWID one the look-up then fails
            // to prepare and its changes are kept
        }

        (byte[] lookupSql, int[]? lookupKey) = BuildLookup(tableName, rows.ConvertAll(r => (r.Name, r.Pk)), withoutRowId: _queryResult != 0);
        return (columns, declaredTypes, lookupSql, lookupKey);
    }

    /// <summary>
    /// Builds the query that reads one row back by its key, to check whether a buffered change still stands: by rowid
    /// (bound from the pre-update hook's key), or for a WITHOUT ROWID table by its primary key columns (bound from the image).
    /// </summary>
    private static (byte[] Sql, int[]? Key) BuildLookup(string tableName, List<(string Name, long Pk)> columns, bool withoutRowId)
    {
        static string Quote(string identifier) => string.Concat("\"", identifier.Replace("\"", "\"\"", StringComparison.Ordinal), "\"");

        var sql = new StringBuilder("SELECT ");
        for (int i = 0; i < columns.Count; i++)
        {
            sql.Append(i == 0 ? string.Empty : ", ").Append(Quote(columns[i].Name));
        }

        sql.Append(" FROM main.").Append(Quote(tableName)).Append(" WHERE ");
        if (!withoutRowId)
        {
            // A column may be named rowid: then one of SQLite's other names for the rowid still means the rowid.
            string rowId = s_rowIdNames.First(alias => !columns.Exists(c => c.Name.Equals(alias, StringComparison.OrdinalIgnoreCase)));
            sql.Append(rowId).Append(" = ?1");
            return (Encoding.UTF8.GetBytes(sql.ToString()), null);
        }

        int[] key = [.. Enumerable.Range(0, columns.Count).Where(i => columns[i].Pk > 0).OrderBy(i => columns[i].Pk)];
        for (int k = 0; k < key.Length; k++)
        {
            sql.Append(k == 0 ? string.Empty : " AND ").Append(Quote(columns[key[k]].Name)).Append(" IS ?").Append(k + 1);
        }

        return (Encoding.UTF8.GetBytes(sql.ToString()), key);
    }

    private void RunInternalQuery(ReadOnlySpan<byte> sql, Action<nint, SqliteChangeCapture> onRow, Func<nint, SqliteChangeCapture, int>? bind = null)
    {
        _inInternalQuery = true;
        try
        {
            int rc = SqliteNative.Query(_db, sql, this, bind, onRow);
            if (rc != SqliteNative.SqliteDone)
            {
                throw new InvalidOperationException($"The capture's metadata query failed with SQLite error {rc}.");
            }
        }
        finally
        {
            _inInternalQuery = false;
        }
    }
}
