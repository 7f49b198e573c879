namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>The PostgreSQL built-in type OIDs the extended query protocol's parameters and results know (<c>pg_type.oid</c>).</summary>
internal static class PgOid
{
    /// <summary>Not given: the client lets the server infer the type.</summary>
    public const int Unspecified = 0;

    /// <summary><c>bool</c>.</summary>
    public const int Bool = 16;

    /// <summary><c>bytea</c>.</summary>
    public const int Bytea = 17;

    /// <summary><c>"char"</c>.</summary>
    public const int Char = 18;

    /// <summary><c>name</c>.</summary>
    public const int Name = 19;

    /// <summary><c>int8</c> (<c>bigint</c>).</summary>
    public const int Int8 = 20;

    /// <summary><c>int2</c> (<c>smallint</c>).</summary>
    public const int Int2 = 21;

    /// <summary><c>int4</c> (<c>integer</c>).</summary>
    public const int Int4 = 23;

    /// <summary><c>text</c>.</summary>
    public const int Text = 25;

    /// <summary><c>oid</c>.</summary>
    public const int Oid = 26;

    /// <summary><c>json</c>.</summary>
    public const int Json = 114;

    /// <summary><c>float4</c> (<c>real</c>).</summary>
    public const int Float4 = 700;

    /// <summary><c>float8</c> (<c>double precision</c>).</summary>
    public const int Float8 = 701;

    /// <summary><c>unknown</c>: an untyped literal.</summary>
    public const int Unknown = 705;

    /// <summary><c>bpchar</c> (<c>char(n)</c>).</summary>
    public const int BpChar = 1042;

    /// <summary><c>varchar</c>.</summary>
    public const int Varchar = 1043;

    /// <summary><c>date</c>.</summary>
    public const int Date = 1082;

    /// <summary><c>timestamp</c> (without time zone).</summary>
    public const int Timestamp = 1114;

    /// <summary><c>timestamptz</c>.</summary>
    public const int TimestampTz = 1184;

    /// <summary><c>numeric</c>.</summary>
    public const int Numeric = 1700;

    /// <summary><c>uuid</c>.</summary>
    public const int Uuid = 2950;

    /// <summary><c>jsonb</c>.</summary>
    public const int Jsonb = 3802;

    /// <summary>Gets whether a type's binary form is its UTF-8 text (the string types, <c>json</c>, an unspecified type).</summary>
    public static bool IsTextLike(int oid) => oid is Unspecified or Text or Varchar or BpChar or Name or Char or Json or Unknown;
}
