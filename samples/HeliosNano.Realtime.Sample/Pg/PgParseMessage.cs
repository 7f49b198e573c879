namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>A <c>Parse</c> message: a statement's name (empty for the unnamed one), its SQL, and the parameter type OIDs the client fixed (0: unspecified).</summary>
/// <param name="Name">The statement name; empty for the unnamed statement.</param>
/// <param name="Query">The SQL text, with <c>$1</c>…<c>$n</c> placeholders.</param>
/// <param name="ParameterTypes">The parameter type OIDs the client gave, possibly fewer than the SQL uses.</param>
internal sealed record PgParseMessage(string Name, string Query, int[] ParameterTypes);
