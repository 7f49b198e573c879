using System.IO.Pipelines;
using HeliosNano.Realtime.Sample.Sql;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// Answers the session-reset statements drivers send when a pooled connection is reused (Npgsql prepends
/// <c>DISCARD ALL</c>, or, when it keeps prepared statements, <c>SET SESSION AUTHORIZATION DEFAULT; RESET ALL;
/// CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD SEQUENCES; DISCARD TEMP</c>): SQLite knows none
/// of them, and the sample has no session state they could reset beyond its statements and portals.
/// </summary>
internal static class PgSessionReset
{
    /// <summary>
    /// Answers <paramref name="sql"/> when every statement in it is a session reset; <c>DISCARD ALL</c> drops the
    /// prepared statements and portals, <c>CLOSE ALL</c> the portals.
    /// </summary>
    /// <returns><see langword="false"/> (nothing written) when any statement is something else.</returns>
    public static bool TryAnswer(string sql, PgExtendedQuery extended, PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(extended);
        if (!sql.Contains("DISCARD", StringComparison.OrdinalIgnoreCase) && !sql.Contains("RESET ALL", StringComparison.OrdinalIgnoreCase))
        {
            return false; // The fast path: an ordinary query.
        }

        List<string> statements = SqlScript.Split(sql);
        var tags = new List<string>(statements.Count);
        foreach (string statement in statements)
        {
            string? tag = Tag(SqlScript.LeadingWords(statement, 4));
            if (tag is null)
            {
                return false;
            }

            tags.Add(tag);
        }

        if (tags.Count == 0)
        {
            return false;
        }

        foreach (string tag in tags)
        {
            switch (tag)
            {
                case "DISCARD ALL":
                    extended.DiscardAll();
                    break;
                case "CLOSE CURSOR ALL":
                    extended.ClosePortals();
                    break;
                case "SELECT 1":
                    // pg_advisory_unlock_all() returns void: one row, one empty value.
                    PgMessageWriter.RowDescription(output, ["pg_advisory_unlock_all"], [2278]);
                    PgMessageWriter.DataRow(output, [string.Empty]);
                    break;
            }

            PgMessageWriter.CommandComplete(output, tag);
        }

        return true;
    }

    private static string? Tag(List<string> words) => words switch
    {
        ["DISCARD", "ALL"] => "DISCARD ALL",
        ["DISCARD", "SEQUENCES"] => "DISCARD SEQUENCES",
        ["DISCARD", "TEMP" or "TEMPORARY"] => "DISCARD TEMP",
        ["DISCARD", "PLANS"] => "DISCARD PLANS",
        ["RESET", "ALL"] => "RESET",
        ["SET", "SESSION", "AUTHORIZATION", "DEFAULT"] => "SET",
        ["CLOSE", "ALL"] => "CLOSE CURSOR ALL",
        ["UNLISTEN", ..] => "UNLISTEN",
        ["SELECT", "PG_ADVISORY_UNLOCK_ALL", ..] => "SELECT 1",
        _ => null,
    };
}
