using System.Globalization;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>How SQLite's values, types, counts and errors read in PostgreSQL's terms: type OIDs, text values, command tags, SQLSTATEs.</summary>
internal static class PgTypes
{
    /// <summary>The OID of <c>text</c>, for a column of no declared type.</summary>
    public const int TextOid = 25;

    /// <summary>The OID of <c>bool</c>.</summary>
    public const int BoolOid = 16;

    /// <summary>The OID of <c>bytea</c>.</summary>
    public const int ByteaOid = 17;

    /// <summary>Gets the PostgreSQL type OID of a SQLite declared type (PostgreSQL's names as the dialect shim keeps them).</summary>
    public static int Oid(string? declaredType)
    {
        string type = (declaredType ?? string.Empty).ToUpperInvariant();
        return type switch
        {
            _ when type.Contains("BIGINT", StringComparison.Ordinal) || type.Contains("INT8", StringComparison.Ordinal) => 20,
            _ when type.Contains("SMALLINT", StringComparison.Ordinal) || type.Contains("INT2", StringComparison.Ordinal) => 21,
            _ when type.Contains("INT", StringComparison.Ordinal) || type.Contains("SERIAL", StringComparison.Ordinal) => 23,
            _ when type.Contains("BOOL", StringComparison.Ordinal) => BoolOid,
            _ when type.Contains("NUMERIC", StringComparison.Ordinal) || type.Contains("DECIMAL", StringComparison.Ordinal) => 1700,
            _ when type.Contains("REAL", StringComparison.Ordinal) || type.Contains("FLOA", StringComparison.Ordinal) || type.Contains("DOUB", StringComparison.Ordinal) => 701,
            _ when type.Contains("TIMESTAMPTZ", StringComparison.Ordinal) => 1184,
            _ when type.Contains("TIMESTAMP", StringComparison.Ordinal) || type.Contains("DATETIME", StringComparison.Ordinal) => 1114,
            _ when type == "DATE" => 1082,
            _ when type.Contains("BLOB", StringComparison.Ordinal) || type.Contains("BYTEA", StringComparison.Ordinal) => ByteaOid,
            _ when type.Contains("JSON", StringComparison.Ordinal) => 114,
            _ when type.Contains("UUID", StringComparison.Ordinal) => 2950,
            _ => TextOid,
        };
    }

    /// <summary>Gets a value's text format: <see langword="null"/> for NULL, <c>t</c>/<c>f</c> for bool, <c>\x…</c> for bytes.</summary>
    public static string? Text(object value, int oid) => value switch
    {
        DBNull => null,
        long number when oid == BoolOid => number != 0 ? "t" : "f",
        long number => number.ToString(CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        byte[] bytes => @"\x" + Convert.ToHexStringLower(bytes),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    /// <summary>Gets the <c>CommandComplete</c> tag as PostgreSQL prints it: <c>INSERT 0 1</c>, <c>UPDATE 1</c>, <c>SELECT 3</c>, <c>CREATE TABLE</c>.</summary>
    public static string CommandTag(string tag, int affected, long rows) => tag switch
    {
        "INSERT" or "REPLACE" => string.Create(CultureInfo.InvariantCulture, $"INSERT 0 {Math.Max(affected, 0)}"),
        "UPDATE" or "DELETE" => string.Create(CultureInfo.InvariantCulture, $"{tag} {Math.Max(affected, 0)}"),
        "SELECT" or "WITH" or "VALUES" or "PRAGMA" or "EXPLAIN" or "TABLE" => string.Create(CultureInfo.InvariantCulture, $"SELECT {rows}"),
        _ => tag,
    };

    /// <summary>Gets the SQLSTATE closest to a SQLite error.</summary>
    public static string SqlState(SqliteException exception, string message)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(message);
        return exception.SqliteErrorCode switch
        {
            19 when message.Contains("UNIQUE", StringComparison.Ordinal) => "23505",
            19 when message.Contains("NOT NULL", StringComparison.Ordinal) => "23502",
            19 when message.Contains("FOREIGN KEY", StringComparison.Ordinal) => "23503",
            19 => "23514",
            1 when message.StartsWith("no such table", StringComparison.Ordinal) => "42P01",
            1 when message.StartsWith("no such column", StringComparison.Ordinal) => "42703",
            1 when message.Contains("syntax error", StringComparison.Ordinal) => "42601",
            1 when message.Contains("already exists", StringComparison.Ordinal) => "42P07",
            1 => "42000",
            9 => "57014",
            _ => "XX000",
        };
    }
}
