using System.Text;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>Classifies a statement from the SQL text the statement trace reports (without allocating: it runs per statement).</summary>
internal static class StatementText
{
    /// <summary>Reads the first keyword of <paramref name="sql"/> (after comments) and says what kind of statement it starts.</summary>
    public static StatementKind Classify(ReadOnlySpan<byte> sql)
    {
        int position = 0;
        SavepointCommand.SkipTrivia(sql, ref position);
        int start = position;
        while (position < sql.Length && SavepointCommand.IsIdentifierByte(sql[position]))
        {
            position++;
        }

        ReadOnlySpan<byte> word = sql[start..position];
        if (Ascii.EqualsIgnoreCase(word, "INSERT"u8) || Ascii.EqualsIgnoreCase(word, "UPDATE"u8) || Ascii.EqualsIgnoreCase(word, "DELETE"u8)
            || Ascii.EqualsIgnoreCase(word, "REPLACE"u8) || Ascii.EqualsIgnoreCase(word, "WITH"u8))
        {
            return StatementKind.Dml; // WITH … SELECT is read-only, which the caller checks separately
        }

        return Ascii.EqualsIgnoreCase(word, "CREATE"u8) || Ascii.EqualsIgnoreCase(word, "ALTER"u8) || Ascii.EqualsIgnoreCase(word, "DROP"u8)
            ? StatementKind.Ddl
            : StatementKind.Other;
    }
}
