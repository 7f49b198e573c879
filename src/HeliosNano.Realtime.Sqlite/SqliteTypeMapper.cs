namespace HeliosNano.Realtime.Sqlite;

/// <summary>How a column's values are written into a record beyond their SQLite storage class.</summary>
internal enum ColumnFormat : byte
{
    /// <summary>By storage class: INTEGER and REAL as numbers, TEXT as strings, BLOB as <c>\x</c> hex, NULL as null.</summary>
    Plain = 0,

    /// <summary>A BOOLEAN column: integers as <see langword="true"/>/<see langword="false"/>.</summary>
    Boolean = 1,

    /// <summary>A JSON column: text that parses as JSON is embedded as a value, as PostgreSQL's <c>jsonb</c> would be.</summary>
    Json = 2,

    /// <summary>A NUMERIC column written as a string (<see cref="SqliteChangeCaptureOptions.NumericAsString"/>).</summary>
    NumericString = 3,
}

/// <summary>Maps SQLite declared column types to the PostgreSQL type names Supabase clients expect in <c>columns</c>.</summary>
/// <remarks>
/// SQLite keeps whatever type name a <c>CREATE TABLE</c> declared, so PostgreSQL DDL mostly maps by name. Integers:
/// SQLite stores 64-bit values, so <c>INT</c>/<c>INTEGER</c> map to <c>int8</c>, except a rowid alias
/// (<c>INTEGER PRIMARY KEY</c>) and <c>SERIAL</c>/<c>INT4</c>/<c>MEDIUMINT</c>, which map to <c>int4</c> as a
/// PostgreSQL <c>id SERIAL PRIMARY KEY</c> would. Names matched by nothing fall back to SQLite's affinity rules
/// (contains INT, CHAR/CLOB/TEXT, REAL/FLOA/DOUB), then to <c>text</c>.
/// </remarks>
internal static class SqliteTypeMapper
{
    /// <summary>Returns the PostgreSQL type name for a declared type.</summary>
    /// <param name="declaredType">The type as declared (<c>PRAGMA table_xinfo</c>'s <c>type</c>), possibly empty.</param>
    /// <param name="isRowIdAlias">Whether the column is the table's single INTEGER PRIMARY KEY.</param>
    public static string ToPostgresType(string? declaredType, bool isRowIdAlias = false)
    {
        string type = Normalize(declaredType);
        switch (type)
        {
            case "INTEGER" or "INT" when isRowIdAlias:
            case "SERIAL" or "SERIAL4" or "INT4" or "MEDIUMINT":
                return "int4";
            case "INT" or "INTEGER" or "BIGINT" or "INT8" or "BIGSERIAL" or "SERIAL8" or "UNSIGNED BIG INT":
                return "int8";
            case "SMALLINT" or "INT2" or "TINYINT" or "SMALLSERIAL" or "SERIAL2":
                return "int2";
            case "NUMERIC" or "DECIMAL":
                return "numeric";
            case "REAL" or "DOUBLE" or "DOUBLE PRECISION" or "FLOAT" or "FLOAT8":
                return "float8";
            case "FLOAT4":
                return "float4";
            case "TEXT" or "VARCHAR" or "CHAR" or "CLOB" or "CHARACTER" or "CHARACTER VARYING" or "NVARCHAR" or "NCHAR"
                or "NATIVE CHARACTER" or "VARYING CHARACTER" or "STRING":
                return "text";
            case "BOOLEAN" or "BOOL":
                return "bool";
            case "TIMESTAMPTZ" or "TIMESTAMP WITH TIME ZONE":
                return "timestamptz";
            case "TIMESTAMP" or "DATETIME" or "TIMESTAMP WITHOUT TIME ZONE":
                return "timestamp";
            case "DATE":
                return "date";
            case "TIME" or "TIME WITHOUT TIME ZONE":
                return "time";
            case "TIMETZ" or "TIME WITH TIME ZONE":
                return "timetz";
            case "JSON" or "JSONB":
                return "jsonb";
            case "BLOB" or "BYTEA":
                return "bytea";
            case "UUID":
                return "uuid";
        }

        // SQLite's own affinity rules (https://sqlite.org/datatype3.html §3.1), in its order.
        if (type.Contains("INT", StringComparison.Ordinal))
        {
            return "int8";
        }

        if (type.Contains("CHAR", StringComparison.Ordinal) || type.Contains("CLOB", StringComparison.Ordinal) || type.Contains("TEXT", StringComparison.Ordinal))
        {
            return "text";
        }

        if (type.Contains("REAL", StringComparison.Ordinal) || type.Contains("FLOA", StringComparison.Ordinal) || type.Contains("DOUB", StringComparison.Ordinal))
        {
            return "float8";
        }

        return "text";
    }

    /// <summary>Returns how values of a column of the given PostgreSQL type are written.</summary>
    public static ColumnFormat GetFormat(string postgresType) => postgresType switch
    {
        "bool" => ColumnFormat.Boolean,
        "jsonb" => ColumnFormat.Json,
        _ => ColumnFormat.Plain,
    };

    /// <summary>Returns the scale of a declared <c>NUMERIC(p, s)</c>/<c>DECIMAL(p, s)</c> (0 for <c>NUMERIC(p)</c>), or <see langword="null"/>.</summary>
    public static int? GetNumericScale(string? declaredType)
    {
        if (declaredType is null)
        {
            return null;
        }

        int open = declaredType.IndexOf('(', StringComparison.Ordinal);
        int close = declaredType.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        string[] parts = declaredType[(open + 1)..close].Split(',', StringSplitOptions.TrimEntries);
        return parts.Length switch
        {
            1 when int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out _) => 0,
            2 when int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int scale) && scale is >= 0 and <= 30 => scale,
            _ => null,
        };
    }

    /// <summary>Upper-cases, drops a size or precision suffix such as <c>(10, 2)</c> and collapses whitespace.</summary>
    private static string Normalize(string? declaredType)
    {
        if (string.IsNullOrWhiteSpace(declaredType))
        {
            return string.Empty;
        }

        ReadOnlySpan<char> span = declaredType.AsSpan();
        int paren = span.IndexOf('(');
        if (paren >= 0)
        {
            int close = span.LastIndexOf(')');
            // "NUMERIC(10, 2)" -> "NUMERIC"; keep a tail after the parenthesis ("VARCHAR(20) ARRAY" is not SQLite syntax anyway).
            span = close > paren ? string.Concat(span[..paren], span[(close + 1)..]).AsSpan() : span[..paren];
        }

        return string.Join(' ', span.ToString().ToUpperInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }
}
