using System.Text;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>Splits SQL text into statements and tells code apart from string literals, quoted identifiers and comments.</summary>
/// <remarks>
/// The rules are psql's and SQLite's shell's: a <c>;</c> ends a statement only outside quotes and comments, and inside
/// <c>CREATE TRIGGER … BEGIN … END</c> only when it follows <c>END</c> (what <c>sqlite3_complete</c> does).
/// </remarks>
internal static class SqlScript
{
    /// <summary>Kinds of lexical segment.</summary>
    internal enum SegmentKind
    {
        /// <summary>Keywords, identifiers, operators, numbers and white space.</summary>
        Code,

        /// <summary>A <c>'…'</c> string literal.</summary>
        String,

        /// <summary>A <c>"…"</c>, <c>`…`</c> or <c>[…]</c> quoted identifier.</summary>
        QuotedIdentifier,

        /// <summary>A <c>-- …</c> or <c>/* … */</c> comment.</summary>
        Comment,

        /// <summary>A statement-ending <c>;</c>.</summary>
        Semicolon,
    }

    /// <summary>Splits <paramref name="sql"/> into its non-empty statements, without their terminating <c>;</c>.</summary>
    public static List<string> Split(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var statements = new List<string>();
        var current = new StringBuilder();
        bool hasContent = false;
        bool inTrigger = false;
        string? firstWord = null;
        string? secondWord = null;
        string? lastWord = null;

        foreach ((SegmentKind kind, int start, int length) in Lex(sql))
        {
            ReadOnlySpan<char> text = sql.AsSpan(start, length);
            if (kind == SegmentKind.Semicolon && (!inTrigger || string.Equals(lastWord, "END", StringComparison.OrdinalIgnoreCase)))
            {
                Flush();
                continue;
            }

            current.Append(text);
            if (kind == SegmentKind.Code)
            {
                foreach (string word in Words(text))
                {
                    if (firstWord is null)
                    {
                        firstWord = word;
                    }
                    else if (secondWord is null && !IsTemp(word))
                    {
                        secondWord = word;
                        inTrigger = string.Equals(firstWord, "CREATE", StringComparison.OrdinalIgnoreCase)
                            && string.Equals(secondWord, "TRIGGER", StringComparison.OrdinalIgnoreCase);
                    }

                    lastWord = word;
                }

                hasContent |= !text.IsWhiteSpace();
            }
            else if (kind != SegmentKind.Comment)
            {
                hasContent = true;
                lastWord = null;
            }
        }

        Flush();
        return statements;

        void Flush()
        {
            if (hasContent)
            {
                statements.Add(current.ToString().Trim());
            }

            current.Clear();
            hasContent = false;
            inTrigger = false;
            firstWord = secondWord = lastWord = null;
        }

        static bool IsTemp(string word) =>
            word.Equals("TEMP", StringComparison.OrdinalIgnoreCase) || word.Equals("TEMPORARY", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Returns the first <paramref name="count"/> upper-cased words of the statement's code, skipping comments.</summary>
    public static List<string> LeadingWords(string statement, int count)
    {
        var words = new List<string>(count);
        foreach ((SegmentKind kind, int start, int length) in Lex(statement))
        {
            if (kind == SegmentKind.Comment)
            {
                continue;
            }

            if (kind != SegmentKind.Code)
            {
                break;
            }

            foreach (string word in Words(statement.AsSpan(start, length)))
            {
                words.Add(word.ToUpperInvariant());
                if (words.Count == count)
                {
                    return words;
                }
            }

            // Punctuation ends the leading keywords ("SELECT 1" has one word, "(SELECT" none).
            if (statement.AsSpan(start, length).TrimEnd().Length > 0 && !EndsWithWordOrSpace(statement.AsSpan(start, length)))
            {
                break;
            }
        }

        return words;
    }

    /// <summary>Cuts <paramref name="sql"/> into lexical segments covering every character, in order.</summary>
    public static IEnumerable<(SegmentKind Kind, int Start, int Length)> Lex(string sql)
    {
        int i = 0;
        int codeStart = 0;
        while (i < sql.Length)
        {
            char c = sql[i];
            SegmentKind kind;
            int end;
            if (c == '\'')
            {
                kind = SegmentKind.String;
                end = EndOfQuoted(sql, i, '\'');
            }
            else if (c is '"' or '`')
            {
                kind = SegmentKind.QuotedIdentifier;
                end = EndOfQuoted(sql, i, c);
            }
            else if (c == '[')
            {
                kind = SegmentKind.QuotedIdentifier;
                int close = sql.IndexOf(']', i + 1);
                end = close < 0 ? sql.Length : close + 1;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                kind = SegmentKind.Comment;
                int newline = sql.IndexOf('\n', i);
                end = newline < 0 ? sql.Length : newline + 1;
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                kind = SegmentKind.Comment;
                int close = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = close < 0 ? sql.Length : close + 2;
            }
            else if (c == ';')
            {
                kind = SegmentKind.Semicolon;
                end = i + 1;
            }
            else
            {
                i++;
                continue;
            }

            if (i > codeStart)
            {
                yield return (SegmentKind.Code, codeStart, i - codeStart);
            }

            yield return (kind, i, end - i);
            i = end;
            codeStart = end;
        }

        if (sql.Length > codeStart)
        {
            yield return (SegmentKind.Code, codeStart, sql.Length - codeStart);
        }
    }

    private static int EndOfQuoted(string sql, int open, char quote)
    {
        int i = open + 1;
        while (i < sql.Length)
        {
            if (sql[i] == quote)
            {
                // A doubled quote is an escaped quote inside the literal.
                if (i + 1 < sql.Length && sql[i + 1] == quote)
                {
                    i += 2;
                    continue;
                }

                return i + 1;
            }

            i++;
        }

        return sql.Length;
    }

    private static List<string> Words(ReadOnlySpan<char> code)
    {
        var words = new List<string>();
        int i = 0;
        while (i < code.Length)
        {
            if (char.IsLetter(code[i]) || code[i] == '_')
            {
                int start = i;
                while (i < code.Length && (char.IsLetterOrDigit(code[i]) || code[i] is '_' or '$'))
                {
                    i++;
                }

                words.Add(code[start..i].ToString());
            }
            else
            {
                i++;
            }
        }

        return words;
    }

    private static bool EndsWithWordOrSpace(ReadOnlySpan<char> code)
    {
        foreach (char c in code)
        {
            if (!char.IsLetterOrDigit(c) && !char.IsWhiteSpace(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
