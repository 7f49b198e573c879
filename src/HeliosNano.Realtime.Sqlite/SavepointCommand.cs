using System.Text;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>What a statement does to the savepoint stack.</summary>
internal enum SavepointCommandKind : byte
{
    /// <summary>Nothing (every statement but the three below).</summary>
    None = 0,

    /// <summary><c>SAVEPOINT name</c>.</summary>
    Savepoint = 1,

    /// <summary><c>RELEASE [SAVEPOINT] name</c>.</summary>
    Release = 2,

    /// <summary><c>ROLLBACK [TRANSACTION] TO [SAVEPOINT] name</c>.</summary>
    RollbackTo = 3,
}

/// <summary>
/// Recognises the savepoint statements from the SQL text SQLite's statement trace reports, because SQLite has no hook
/// for savepoints: the capture needs to know where a <c>ROLLBACK TO</c> cuts the buffered changes.
/// </summary>
internal readonly record struct SavepointCommand(SavepointCommandKind Kind, string? Name)
{
    public static readonly SavepointCommand None = new(SavepointCommandKind.None, null);

    /// <summary>Classifies one SQL statement's text (comments, case and identifier quoting as SQLite accepts them).</summary>
    public static SavepointCommand Parse(ReadOnlySpan<byte> sql)
    {
        int position = 0;
        SkipTrivia(sql, ref position);
        // Fast exit for everything that cannot be a savepoint statement: the statement trace calls this per statement.
        if (position >= sql.Length || (sql[position] | 0x20) is not ((byte)'s' or (byte)'r'))
        {
            return None;
        }

        string? first = ReadWord(sql, ref position);
        if (Is(first, "SAVEPOINT"))
        {
            return ReadName(sql, ref position) is string name ? new(SavepointCommandKind.Savepoint, name) : None;
        }

        if (Is(first, "RELEASE"))
        {
            int save = position;
            if (!Is(ReadWord(sql, ref position), "SAVEPOINT"))
            {
                position = save;
            }

            return ReadName(sql, ref position) is string name ? new(SavepointCommandKind.Release, name) : None;
        }

        if (Is(first, "ROLLBACK"))
        {
            string? word = ReadWord(sql, ref position);
            if (Is(word, "TRANSACTION"))
            {
                word = ReadWord(sql, ref position);
            }

            if (!Is(word, "TO"))
            {
                return None; // a whole-transaction ROLLBACK: seen as the transaction ending without a commit
            }

            int save = position;
            if (!Is(ReadWord(sql, ref position), "SAVEPOINT"))
            {
                position = save;
            }

            return ReadName(sql, ref position) is string name ? new(SavepointCommandKind.RollbackTo, name) : None;
        }

        return None;
    }

    private static bool Is(string? word, string keyword) => string.Equals(word, keyword, StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips white space and comments, as SQLite's tokenizer does.</summary>
    internal static void SkipTrivia(ReadOnlySpan<byte> sql, ref int position)
    {
        while (position < sql.Length)
        {
            byte c = sql[position];
            if (c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\f' or (byte)'\v')
            {
                position++;
            }
            else if (c == '-' && position + 1 < sql.Length && sql[position + 1] == '-')
            {
                int end = sql[position..].IndexOf((byte)'\n');
                position = end < 0 ? sql.Length : position + end + 1;
            }
            else if (c == '/' && position + 1 < sql.Length && sql[position + 1] == '*')
            {
                int end = sql[(position + 2)..].IndexOf("*/"u8);
                position = end < 0 ? sql.Length : position + 2 + end + 2;
            }
            else
            {
                return;
            }
        }
    }

    private static string? ReadWord(ReadOnlySpan<byte> sql, ref int position)
    {
        SkipTrivia(sql, ref position);
        int start = position;
        while (position < sql.Length && IsIdentifierByte(sql[position]))
        {
            position++;
        }

        return position > start ? Encoding.UTF8.GetString(sql[start..position]) : null;
    }

    /// <summary>Whether SQLite's tokenizer takes <paramref name="c"/> as part of a bare identifier (letters, digits, <c>_</c>, <c>$</c>, non-ASCII).</summary>
    internal static bool IsIdentifierByte(byte c) => char.IsAsciiLetterOrDigit((char)c) || c is (byte)'_' or (byte)'$' || c >= 0x80;

    /// <summary>
    /// Compares two savepoint names the way SQLite does (<c>sqlite3StrICmp</c>): case-insensitive for ASCII letters only,
    /// so <c>"É"</c> and <c>"é"</c> are different savepoints.
    /// </summary>
    public static bool NamesEqual(string left, string right)
    {
        if (left.Length != right.Length)
        {
            return false;
        }

        for (int i = 0; i < left.Length; i++)
        {
            char a = left[i];
            char b = right[i];
            if (a != b && (!char.IsAsciiLetter(a) || !char.IsAsciiLetter(b) || (a | 0x20) != (b | 0x20)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads an identifier: bare, or quoted with <c>"…"</c>, <c>[…]</c>, <c>`…`</c> or <c>'…'</c> (doubled quotes escape).</summary>
    private static string? ReadName(ReadOnlySpan<byte> sql, ref int position)
    {
        SkipTrivia(sql, ref position);
        if (position >= sql.Length)
        {
            return null;
        }

        byte open = sql[position];
        byte close = open switch
        {
            (byte)'"' => (byte)'"',
            (byte)'`' => (byte)'`',
            (byte)'\'' => (byte)'\'',
            (byte)'[' => (byte)']',
            _ => 0,
        };
        if (close == 0)
        {
            return ReadWord(sql, ref position);
        }

        var name = new List<byte>();
        position++;
        while (position < sql.Length)
        {
            byte c = sql[position++];
            if (c == close)
            {
                if (close != ']' && position < sql.Length && sql[position] == close)
                {
                    name.Add(c); // a doubled quote stands for one
                    position++;
                    continue;
                }

                return Encoding.UTF8.GetString([.. name]);
            }

            name.Add(c);
        }

        return null;
    }
}
