using System.Text;
using System.Text.RegularExpressions;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>
/// A small PostgreSQL-to-SQLite shim so the tutorial's SQL runs verbatim: it rewrites only code, never string literals
/// or comments.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>SERIAL PRIMARY KEY</c> (also <c>BIGSERIAL</c>, <c>SMALLSERIAL</c>, <c>INT GENERATED … AS IDENTITY PRIMARY KEY</c>)
/// becomes <c>INTEGER PRIMARY KEY AUTOINCREMENT</c>; a <c>SERIAL</c> that is not the key becomes <c>INTEGER</c>.</item>
/// <item><c>now()</c> becomes the UTC time as <c>'YYYY-MM-DDTHH:MM:SS.sss'</c> (the JSON form of a Postgres
/// <c>timestamp</c>), in parentheses so it also works as a column <c>DEFAULT</c>.</item>
/// <item><c>gen_random_uuid()</c> becomes a version-4 UUID expression; <c>ILIKE</c> becomes <c>LIKE</c> (case-insensitive
/// for ASCII in SQLite); <c>::type</c> casts are dropped; <c>TIMESTAMP WITH[OUT] TIME ZONE</c> becomes
/// <c>TIMESTAMPTZ</c> / <c>TIMESTAMP</c>.</item>
/// <item>Declared types such as <c>NUMERIC(10, 2)</c>, <c>TIMESTAMP</c>, <c>BOOLEAN</c>, <c>TEXT</c>, <c>JSONB</c> are kept
/// as written: SQLite accepts any type name, and the declared text is what column metadata reports.</item>
/// </list>
/// </remarks>
internal static partial class PostgresDialect
{
    /// <summary>The SQLite expression <c>now()</c> becomes.</summary>
    public const string NowExpression = "(strftime('%Y-%m-%dT%H:%M:%f','now'))";

    private const string UuidExpression =
        "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || " +
        "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))";

    /// <summary>Rewrites one statement from the PostgreSQL dialect to SQLite's.</summary>
    public static string Translate(string statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        // Column types only appear in CREATE TABLE / ALTER TABLE: elsewhere "serial" is just a name (SELECT serial FROM t).
        List<string> words = SqlScript.LeadingWords(statement, 4);
        bool defines = words.Count >= 2 && words[0] is "CREATE" or "ALTER" && words.Skip(1).Any(w => w == "TABLE");
        // Quoted identifiers stay with the code around them, so `"id" SERIAL` is seen as a name followed by a type;
        // string literals and comments are copied as they are.
        var result = new StringBuilder(statement.Length + 32);
        int codeStart = 0;
        foreach ((SqlScript.SegmentKind kind, int start, int length) in SqlScript.Lex(statement))
        {
            if (kind is SqlScript.SegmentKind.String or SqlScript.SegmentKind.Comment)
            {
                result.Append(TranslateCode(statement[codeStart..start], defines)).Append(statement, start, length);
                codeStart = start + length;
            }
        }

        result.Append(TranslateCode(statement[codeStart..], defines));
        return result.ToString();
    }

    private static string TranslateCode(string code, bool defines)
    {
        if (defines)
        {
            code = SerialKey().Replace(code, "INTEGER PRIMARY KEY AUTOINCREMENT");
            code = IdentityKey().Replace(code, "INTEGER PRIMARY KEY AUTOINCREMENT");
            code = Serial().Replace(code, "INTEGER");
        }

        code = TimestampTz().Replace(code, "TIMESTAMPTZ");
        code = TimestampNoTz().Replace(code, "TIMESTAMP");
        code = Now().Replace(code, NowExpression);
        code = RandomUuid().Replace(code, UuidExpression);
        code = ILike().Replace(code, "LIKE");
        code = Cast().Replace(code, string.Empty);
        return code;
    }

    [GeneratedRegex(@"(?<=[\w""\]`]\s+)(?<!\bTABLE\s+)\b(?:BIG|SMALL)?SERIAL[248]?\s+PRIMARY\s+KEY\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SerialKey();

    [GeneratedRegex(@"\b(?:INT|INTEGER|BIGINT|SMALLINT|INT[248])\s+GENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY(?:\s*\([^)]*\))?\s+PRIMARY\s+KEY\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex IdentityKey();

    [GeneratedRegex(@"(?<=[\w""\]`]\s+)(?<!\b(?:TABLE|COLUMN)\s+)\b(?:BIG|SMALL)?SERIAL[248]?\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Serial();

    [GeneratedRegex(@"\bTIMESTAMP\s+WITH\s+TIME\s+ZONE\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimestampTz();

    [GeneratedRegex(@"\bTIMESTAMP\s+WITHOUT\s+TIME\s+ZONE\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimestampNoTz();

    [GeneratedRegex(@"\bnow\s*\(\s*\)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Now();

    [GeneratedRegex(@"\bgen_random_uuid\s*\(\s*\)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RandomUuid();

    [GeneratedRegex(@"\bILIKE\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ILike();

    [GeneratedRegex(@"::\s*[A-Za-z_]\w*(?:\s+(?:precision|varying|with(?:out)?\s+time\s+zone))?(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\[\])?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Cast();
}
