namespace HeliosNano.Realtime;

/// <summary>The name and type of one column of a table, as carried by every <see cref="ChangeEvent"/>.</summary>
/// <param name="Name">The column name, as it appears as a key in <see cref="ChangeEvent.Record"/>.</param>
/// <param name="TypeName">
/// The column type, by its PostgreSQL name (<c>int4</c>, <c>int8</c>, <c>numeric</c>, <c>float8</c>, <c>text</c>,
/// <c>bool</c>, <c>jsonb</c>, <c>timestamp</c>, <c>timestamptz</c>, <c>bytea</c>, arrays as <c>_int4</c> …), so that
/// Supabase clients convert values the way they do for PostgreSQL.
/// </param>
public readonly record struct ChangeColumn(string Name, string TypeName);
