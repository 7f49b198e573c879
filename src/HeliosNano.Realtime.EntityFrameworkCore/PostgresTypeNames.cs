namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>Which rules turn a column's store type into a PostgreSQL type name.</summary>
internal enum StoreTypeDialect
{
    /// <summary>SQLite and unknown providers: an affinity name says nothing, so the provider CLR type decides.</summary>
    Sqlite = 0,

    /// <summary>Npgsql: the store type is a PostgreSQL type, normalised to its <c>pg_type.typname</c>.</summary>
    Postgres = 1,

    /// <summary>SQL Server: its type names mapped to their PostgreSQL equivalents.</summary>
    SqlServer = 2,
}

/// <summary>
/// Maps a column of the EF relational model to the PostgreSQL type name (<c>pg_type.typname</c>) that Supabase sends in
/// <c>columns[].type</c>: supabase-js converts values by it and the row filters compare by it.
/// </summary>
internal static class PostgresTypeNames
{
    public static StoreTypeDialect DialectOf(string? providerName) => providerName switch
    {
        "Npgsql.EntityFrameworkCore.PostgreSQL" => StoreTypeDialect.Postgres,
        "Microsoft.EntityFrameworkCore.SqlServer" => StoreTypeDialect.SqlServer,
        _ => StoreTypeDialect.Sqlite,
    };

    /// <summary>Returns the PostgreSQL type name for a column.</summary>
    /// <param name="storeType">The column's store type (<c>IColumn.StoreType</c>), facets included.</param>
    /// <param name="providerClrType">The CLR type of the values the database receives (after value conversion).</param>
    /// <param name="dialect">The provider's naming rules.</param>
    public static string For(string storeType, Type providerClrType, StoreTypeDialect dialect)
    {
        Type clr = Nullable.GetUnderlyingType(providerClrType) ?? providerClrType;
        string normalized = Normalize(storeType);
        return dialect switch
        {
            StoreTypeDialect.Postgres => FromPostgres(normalized) ?? FromClr(clr, timestampTz: true),
            StoreTypeDialect.SqlServer => FromSqlServer(normalized) ?? FromClr(clr, timestampTz: false),
            _ => FromSqliteDeclared(normalized) ?? FromClr(clr, timestampTz: false),
        };
    }

    /// <summary>The PostgreSQL name of a provider CLR type, as Npgsql would map it.</summary>
    public static string FromClr(Type clr, bool timestampTz)
    {
        if (clr.IsArray && clr != typeof(byte[]))
        {
            return "_" + FromClr(clr.GetElementType()!, timestampTz);
        }

        return Type.GetTypeCode(clr) switch
        {
            TypeCode.Boolean => "bool",
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 => "int2",
            TypeCode.UInt16 or TypeCode.Int32 => "int4",
            TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => "int8",
            TypeCode.Single => "float4",
            TypeCode.Double => "float8",
            TypeCode.Decimal => "numeric",
            TypeCode.DateTime => timestampTz ? "timestamptz" : "timestamp",
            TypeCode.Char or TypeCode.String => "text",
            _ when clr == typeof(DateTimeOffset) => "timestamptz",
            _ when clr == typeof(DateOnly) => "date",
            _ when clr == typeof(TimeOnly) => "time",
            _ when clr == typeof(TimeSpan) => "interval",
            _ when clr == typeof(Guid) => "uuid",
            _ when clr == typeof(byte[]) => "bytea",
            _ when clr.FullName is "System.Text.Json.JsonDocument" or "System.Text.Json.JsonElement" => "jsonb",
            _ => "text",
        };
    }

    /// <summary>Npgsql store types (<c>timestamp(3) with time zone</c>, <c>character varying(200)</c>, <c>integer[]</c>) to typnames.</summary>
    private static string? FromPostgres(string type)
    {
        if (type.EndsWith("[]", StringComparison.Ordinal))
        {
            string? element = FromPostgres(type[..^2].TrimEnd());
            return element is null ? null : "_" + element;
        }

        return type switch
        {
            "integer" or "int" or "int4" or "serial" => "int4",
            "bigint" or "int8" or "bigserial" => "int8",
            "smallint" or "int2" or "smallserial" => "int2",
            "boolean" or "bool" => "bool",
            "double precision" or "float8" => "float8",
            "real" or "float4" => "float4",
            "numeric" or "decimal" => "numeric",
            "money" => "money",
            "text" => "text",
            "character varying" or "varchar" => "varchar",
            "character" or "char" or "bpchar" => "bpchar",
            "\"char\"" => "char",
            "citext" => "citext",
            "name" => "name",
            "timestamp with time zone" or "timestamptz" => "timestamptz",
            "timestamp without time zone" or "timestamp" => "timestamp",
            "date" => "date",
            "time without time zone" or "time" => "time",
            "time with time zone" or "timetz" => "timetz",
            "interval" => "interval",
            "uuid" => "uuid",
            "bytea" => "bytea",
            "json" => "json",
            "jsonb" => "jsonb",
            "xml" => "xml",
            "inet" or "cidr" or "macaddr" or "macaddr8" or "bit" or "varbit" or "tsvector" or "tsquery" or "oid" or "xid" or "xid8" or "cid"
                or "regconfig" or "hstore" or "ltree" or "point" or "line" or "lseg" or "box" or "path" or "polygon" or "circle" => type,
            "bit varying" => "varbit",
            _ => null,
        };
    }

    private static string? FromSqlServer(string type) => type switch
    {
        "int" => "int4",
        "bigint" => "int8",
        "smallint" or "tinyint" => "int2",
        "bit" => "bool",
        "float" => "float8",
        "real" => "float4",
        "decimal" or "numeric" or "money" or "smallmoney" => "numeric",
        "nvarchar" or "varchar" or "nchar" or "char" or "ntext" or "text" or "sysname" => "text",
        "datetime2" or "datetime" or "smalldatetime" => "timestamp",
        "datetimeoffset" => "timestamptz",
        "date" => "date",
        "time" => "time",
        "uniqueidentifier" => "uuid",
        "varbinary" or "binary" or "image" or "rowversion" or "timestamp" => "bytea",
        "json" => "jsonb",
        "xml" => "xml",
        _ => null,
    };

    /// <summary>
    /// Types a user declared on SQLite (<c>HasColumnType("BOOLEAN")</c>), read as the SQLite pre-update-hook capture reads
    /// declared types, so both give the same names; EF's own affinity names (INTEGER, TEXT, REAL, BLOB) return null.
    /// </summary>
    private static string? FromSqliteDeclared(string type) => type switch
    {
        "" or "integer" or "text" or "real" or "blob" or "numeric" => null,
        "serial" or "serial4" or "int4" or "mediumint" => "int4",
        "int" or "bigint" or "int8" or "bigserial" or "serial8" => "int8",
        "smallint" or "int2" or "tinyint" => "int2",
        "decimal" => "numeric",
        "double" or "double precision" or "float" or "float8" => "float8",
        "float4" => "float4",
        "varchar" or "char" or "clob" or "character" or "character varying" or "nvarchar" or "nchar" or "string" => "text",
        "boolean" or "bool" => "bool",
        "timestamptz" or "timestamp with time zone" => "timestamptz",
        "timestamp" or "datetime" or "timestamp without time zone" => "timestamp",
        "date" => "date",
        "time" or "time without time zone" => "time",
        "json" or "jsonb" => "jsonb",
        "bytea" => "bytea",
        "uuid" => "uuid",
        _ => null,
    };

    /// <summary>Lower-cases, drops facets such as <c>(10, 2)</c> (also inside <c>timestamp(3) with time zone</c>) and collapses whitespace.</summary>
    internal static string Normalize(string? storeType)
    {
        if (string.IsNullOrWhiteSpace(storeType))
        {
            return string.Empty;
        }

        var text = new System.Text.StringBuilder(storeType.Length);
        int depth = 0;
        foreach (char c in storeType)
        {
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                text.Append(char.ToLowerInvariant(c));
            }
        }

        return string.Join(' ', text.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Replace(" []", "[]", StringComparison.Ordinal);
    }
}
