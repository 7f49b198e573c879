namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>One result column as <c>RowDescription</c> reports it: its name and PostgreSQL type OID.</summary>
/// <param name="Name">The column's name.</param>
/// <param name="TypeOid">The type OID, from the declared type (or, for an expression, what SQLite stored in the first row).</param>
internal readonly record struct PgColumn(string Name, int TypeOid);
