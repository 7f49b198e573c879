using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// A parsed Supabase row filter <c>col=[not.]op.value[,…]</c> (conditions joined by top-level commas are ANDed),
/// evaluated against a change's row JSON with typed comparisons and SQL NULL rules.
/// </summary>
/// <remarks>
/// Operators: <c>eq neq lt lte gt gte in is like ilike match imatch isdistinct</c>. Values are compared by the
/// column's Postgres type from <see cref="ChangeEvent.Columns"/> (numbers numerically, booleans, timestamps as
/// instants, uuids case-insensitively, everything else ordinally), or by the JSON value's kind when the column has
/// no type. A NULL or missing column makes every operator except <c>is</c> and <c>isdistinct</c> unknown, and an
/// unknown condition (negated or not) rejects the row. The row is read with <see cref="Utf8JsonReader"/>; nothing is
/// allocated per evaluation except the string of a compared text value.
/// <para>
/// Cost is bounded when the filter is parsed, never while changes flow: its length and condition count are capped
/// by the caller, and <c>like</c>, <c>ilike</c>, <c>match</c> and <c>imatch</c> run on
/// <see cref="RegexOptions.NonBacktracking"/>, which matches in time linear in the input (a pattern that engine cannot
/// run, such as a backreference or a lookaround, is refused). Each distinct pattern is compiled once and shared.
/// </para>
/// </remarks>
internal sealed class RowFilter
{
    /// <summary>Supabase's limit on the number of values of <c>in</c>.</summary>
    internal const int MaxInValues = 100;

    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How many distinct patterns are kept compiled. Beyond it a pattern is compiled for its binding alone, so client
    /// input can grow the cache only up to this size.
    /// </summary>
    private const int MaxCachedPatterns = 1024;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Pattern, RegexOptions Options), Regex> s_patterns = new();

    private readonly Condition[] _conditions;

    private RowFilter(Condition[] conditions)
    {
        _conditions = conditions;
        Cost = conditions.Sum(static c => c.Operator == Op.In ? Math.Max(1, c.Values.Length) : 1);
    }

    /// <summary>Gets the column names the filter reads.</summary>
    public IEnumerable<string> Columns => _conditions.Select(static c => c.Column);

    /// <summary>Gets the evaluations one change costs at most: one per condition, one per value of an <c>in</c> list.</summary>
    public int Cost { get; }

    /// <summary>Parses a filter; an empty or blank one yields <see langword="null"/> (no filter).</summary>
    /// <param name="text">The filter.</param>
    /// <param name="maxLength">The longest filter accepted, in characters.</param>
    /// <param name="maxConditions">The most comma-joined conditions accepted.</param>
    /// <exception cref="FormatException">The filter is malformed or over a limit; the message says why.</exception>
    public static RowFilter? Parse(string? text, int maxLength = int.MaxValue, int maxConditions = int.MaxValue)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (text.Length > maxLength)
        {
            throw new FormatException($"the filter is {text.Length} characters long; this server accepts at most {maxLength}");
        }

        List<string> parts = SplitTopLevel(text, ',');
        if (parts.Count > maxConditions)
        {
            throw new FormatException($"the filter has {parts.Count} conditions; this server accepts at most {maxConditions}");
        }

        var conditions = new Condition[parts.Count];
        for (int i = 0; i < parts.Count; i++)
        {
            conditions[i] = Condition.Parse(parts[i]);
        }

        return new RowFilter(conditions);
    }

    /// <summary>Gets the compiled linear-time regex for a pattern, compiling it once per distinct pattern and options.</summary>
    /// <exception cref="FormatException">The pattern is invalid, or uses a construct the linear-time engine cannot run.</exception>
    private static Regex GetPattern(string pattern, RegexOptions options)
    {
        options |= RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;
        if (s_patterns.TryGetValue((pattern, options), out Regex? cached))
        {
            return cached;
        }

        Regex regex;
        try
        {
            regex = new Regex(pattern, options, s_regexTimeout);
        }
        catch (NotSupportedException e)
        {
            throw new FormatException($"the regular expression \"{pattern}\" uses a construct (backreference, lookaround, atomic group, or a size beyond the engine's limit) this server does not evaluate: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"invalid regular expression \"{pattern}\": {e.Message}", e);
        }

        return s_patterns.Count < MaxCachedPatterns ? s_patterns.GetOrAdd((pattern, options), regex) : regex;
    }

    /// <summary>Returns whether the row image (a JSON object) passes every condition.</summary>
    public bool Matches(ReadOnlySpan<byte> row, IReadOnlyList<ChangeColumn> columns)
    {
        if (row.IsEmpty)
        {
            return false;
        }

        foreach (Condition condition in _conditions)
        {
            if (condition.Evaluate(row, columns) != true)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits on <paramref name="separator"/> outside double quotes and parentheses.</summary>
    internal static List<string> SplitTopLevel(string text, char separator)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        int depth = 0;
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                current.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    current.Append(text[++i]);
                }
                else if (c == '"')
                {
                    quoted = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    quoted = true;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                default:
                    if (c == separator && depth == 0)
                    {
                        parts.Add(current.ToString());
                        current.Clear();
                        continue;
                    }

                    break;
            }

            current.Append(c);
        }

        if (quoted || depth != 0)
        {
            throw new FormatException($"unbalanced quotes or parentheses in \"{text}\"");
        }

        parts.Add(current.ToString());
        return parts;
    }

    /// <summary>Removes surrounding double quotes and backslash escapes from a value.</summary>
    internal static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        for (int i = 1; i < value.Length - 1; i++)
        {
            char c = value[i];
            if (c == '\\' && i + 1 < value.Length - 1)
            {
                c = value[++i];
            }

            result.Append(c);
        }

        return result.ToString();
    }

    private enum Op
    {
        Eq,
        Neq,
        Lt,
        Lte,
        Gt,
        Gte,
        In,
        Is,
        Like,
        ILike,
        Match,
        IMatch,
        IsDistinct,
    }

    private enum Category
    {
        Text,
        Number,
        Boolean,
        Time,
        Uuid,
        Json,
    }

    /// <summary>One row value, as read from the JSON.</summary>
    private readonly ref struct Cell
    {
        public Cell(JsonTokenType token, ReadOnlySpan<byte> raw, string? text)
        {
            Token = token;
            Raw = raw;
            Text = text;
        }

        public JsonTokenType Token { get; }

        /// <summary>The raw bytes of a number, object or array.</summary>
        public ReadOnlySpan<byte> Raw { get; }

        /// <summary>The unescaped string, for string tokens.</summary>
        public string? Text { get; }

        public bool IsNull => Token is JsonTokenType.Null or JsonTokenType.None;

        public string AsText() => Token switch
        {
            JsonTokenType.String => Text!,
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            _ => Encoding.UTF8.GetString(Raw),
        };
    }

    /// <summary>A filter constant, parsed once into every form a column type may need.</summary>
    private sealed class Constant
    {
        public Constant(string text)
        {
            Text = text;
            if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal number))
            {
                Number = number;
            }
            else if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double real))
            {
                Real = real;
            }

            Boolean = ParseBoolean(text);
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time))
            {
                Time = time;
            }
        }

        public string Text { get; }

        public decimal? Number { get; }

        public double? Real { get; }

        public bool? Boolean { get; }

        public DateTimeOffset? Time { get; }
    }

    private sealed class Condition
    {
        private Condition(string column, Op op, bool negate, Constant[] values, string raw, Regex? pattern)
        {
            Column = column;
            ColumnUtf8 = Encoding.UTF8.GetBytes(column);
            Operator = op;
            Negate = negate;
            Values = values;
            RawValue = raw;
            Pattern = pattern;
        }

        public string Column { get; }

        public byte[] ColumnUtf8 { get; }

        public Op Operator { get; }

        public bool Negate { get; }

        public Constant[] Values { get; }

        public string RawValue { get; }

        public Regex? Pattern { get; }

        public static Condition Parse(string text)
        {
            int equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"\"{text}\" is not col=op.value");
            }

            string column = text[..equals].Trim();
            string rest = text[(equals + 1)..];
            bool negate = false;
            if (rest.StartsWith("not.", StringComparison.Ordinal))
            {
                negate = true;
                rest = rest[4..];
            }

            int dot = rest.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0)
            {
                throw new FormatException($"\"{text}\" has no operator");
            }

            string opText = rest[..dot];
            string value = rest[(dot + 1)..];
            Op op = opText switch
            {
                "eq" => Op.Eq,
                "neq" => Op.Neq,
                "lt" => Op.Lt,
                "lte" => Op.Lte,
                "gt" => Op.Gt,
                "gte" => Op.Gte,
                "in" => Op.In,
                "is" => Op.Is,
                "like" => Op.Like,
                "ilike" => Op.ILike,
                "match" => Op.Match,
                "imatch" => Op.IMatch,
                "isdistinct" => Op.IsDistinct,
                _ => throw new FormatException($"unknown operator \"{opText}\" in \"{text}\""),
            };

            Regex? pattern = null;
            Constant[] values;
            switch (op)
            {
                case Op.In:
                    if (value.Length < 2 || value[0] != '(' || value[^1] != ')')
                    {
                        throw new FormatException($"the value of in must be (a,b,…) in \"{text}\"");
                    }

                    string inner = value[1..^1];
                    List<string> items = inner.Length == 0 ? [] : SplitTopLevel(inner, ',');
                    if (items.Count > MaxInValues)
                    {
                        throw new FormatException($"in accepts at most {MaxInValues} values");
                    }

                    values = [.. items.Select(static v => new Constant(Unquote(v.Trim())))];
                    break;
                case Op.Is:
                    string keyword = value.ToLowerInvariant();
                    if (keyword is not ("null" or "true" or "false" or "unknown"))
                    {
                        throw new FormatException($"is accepts null, true, false or unknown, not \"{value}\"");
                    }

                    values = [new Constant(keyword)];
                    break;
                case Op.Like or Op.ILike:
                    string like = Unquote(value);
                    pattern = GetPattern(LikeToRegex(like), RegexOptions.Singleline | (op == Op.ILike ? RegexOptions.IgnoreCase : 0));
                    values = [new Constant(like)];
                    break;
                case Op.Match or Op.IMatch:
                    string regex = Unquote(value);
                    pattern = GetPattern(regex, op == Op.IMatch ? RegexOptions.IgnoreCase : RegexOptions.None);
                    values = [new Constant(regex)];
                    break;
                default:
                    values = [new Constant(Unquote(value))];
                    break;
            }

            if (column.Length == 0)
            {
                throw new FormatException($"\"{text}\" has no column");
            }

            return new Condition(column, op, negate, values, value, pattern);
        }

        /// <summary>Three-valued: <see langword="null"/> is SQL unknown.</summary>
        public bool? Evaluate(ReadOnlySpan<byte> row, IReadOnlyList<ChangeColumn> columns)
        {
            string? typeName = null;
            foreach (ChangeColumn column in columns)
            {
                if (string.Equals(column.Name, Column, StringComparison.Ordinal))
                {
                    typeName = column.TypeName;
                    break;
                }
            }

            var reader = new Utf8JsonReader(row);
            Cell cell = default;
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool match = reader.ValueTextEquals(ColumnUtf8);
                    reader.Read();
                    if (!match)
                    {
                        reader.Skip();
                        continue;
                    }

                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String:
                            cell = new Cell(JsonTokenType.String, default, reader.GetString());
                            break;
                        case JsonTokenType.StartObject or JsonTokenType.StartArray:
                            int start = (int)reader.TokenStartIndex;
                            reader.Skip();
                            cell = new Cell(JsonTokenType.StartObject, row[start..(int)reader.BytesConsumed], null);
                            break;
                        default:
                            cell = new Cell(reader.TokenType, reader.HasValueSequence ? default : reader.ValueSpan, null);
                            break;
                    }

                    break;
                }
            }

            bool? result = EvaluateCell(cell, CategoryOf(typeName, cell));
            return Negate ? !result : result;
        }

        private bool? EvaluateCell(Cell cell, Category category)
        {
            switch (Operator)
            {
                case Op.Is:
                    bool? truth = cell.IsNull ? null : category == Category.Boolean ? AsBoolean(cell) : (bool?)null;
                    return Values[0].Text switch
                    {
                        "null" or "unknown" => cell.IsNull,
                        "true" => truth == true,
                        _ => truth == false,
                    };
                case Op.IsDistinct:
                    if (cell.IsNull)
                    {
                        return !string.Equals(Values[0].Text, "null", StringComparison.OrdinalIgnoreCase);
                    }

                    return Compare(cell, category, Values[0]) != 0;
            }

            if (cell.IsNull)
            {
                return null;
            }

            switch (Operator)
            {
                case Op.In:
                    bool anyUnknown = false;
                    foreach (Constant value in Values)
                    {
                        int? c = Compare(cell, category, value);
                        if (c == 0)
                        {
                            return true;
                        }

                        anyUnknown |= c is null;
                    }

                    return anyUnknown ? null : false;
                case Op.Like or Op.ILike or Op.Match or Op.IMatch:
                    if (cell.Token == JsonTokenType.StartObject)
                    {
                        return null;
                    }

                    try
                    {
                        return Pattern!.IsMatch(cell.AsText());
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        return null;
                    }
            }

            int? comparison = Compare(cell, category, Values[0]);
            if (comparison is not int order)
            {
                return null;
            }

            return Operator switch
            {
                Op.Eq => order == 0,
                Op.Neq => order != 0,
                Op.Lt => order < 0,
                Op.Lte => order <= 0,
                Op.Gt => order > 0,
                _ => order >= 0,
            };
        }
    }

    private static Category CategoryOf(string? typeName, Cell cell)
    {
        switch (typeName)
        {
            case "int2" or "int4" or "int8" or "float4" or "float8" or "numeric" or "oid" or "smallint" or "integer" or "bigint" or "real" or "double precision" or "decimal" or "money":
                return Category.Number;
            case "bool" or "boolean":
                return Category.Boolean;
            case "timestamp" or "timestamptz" or "date" or "time" or "timetz":
                return Category.Time;
            case "uuid":
                return Category.Uuid;
            case "json" or "jsonb":
                return Category.Json;
            case null:
                return cell.Token switch
                {
                    JsonTokenType.Number => Category.Number,
                    JsonTokenType.True or JsonTokenType.False => Category.Boolean,
                    JsonTokenType.StartObject => Category.Json,
                    _ => Category.Text,
                };
            default:
                return Category.Text;
        }
    }

    /// <summary>Compares a non-null cell with a constant: negative, zero, positive, or <see langword="null"/> when they are not comparable.</summary>
    private static int? Compare(Cell cell, Category category, Constant constant)
    {
        switch (category)
        {
            case Category.Number:
                if (constant.Number is decimal number && TryGetDecimal(cell, out decimal value))
                {
                    return value.CompareTo(number);
                }

                double? target = constant.Number is decimal d ? (double)d : constant.Real;
                if (target is double t && TryGetDouble(cell, out double real))
                {
                    return real.CompareTo(t);
                }

                return null;
            case Category.Boolean:
                bool? left = AsBoolean(cell);
                return left is bool l && constant.Boolean is bool r ? l.CompareTo(r) : null;
            case Category.Time:
                if (cell.Token == JsonTokenType.String && constant.Time is DateTimeOffset time
                    && DateTimeOffset.TryParse(cell.Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset stamp))
                {
                    return stamp.CompareTo(time);
                }

                return string.CompareOrdinal(cell.AsText(), constant.Text);
            case Category.Uuid:
                return string.Compare(cell.AsText(), constant.Text, StringComparison.OrdinalIgnoreCase);
            case Category.Json:
                if (cell.Token == JsonTokenType.StartObject)
                {
                    return JsonEquals(cell.Raw, constant.Text) ? 0 : null;
                }

                return string.CompareOrdinal(cell.AsText(), constant.Text);
            default:
                return string.CompareOrdinal(cell.AsText(), constant.Text);
        }
    }

    private static bool JsonEquals(ReadOnlySpan<byte> raw, string text)
    {
        try
        {
            using JsonDocument left = JsonDocument.Parse(raw.ToArray());
            using JsonDocument right = JsonDocument.Parse(text);
            return JsonElement.DeepEquals(left.RootElement, right.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryGetDecimal(Cell cell, out decimal value)
    {
        if (cell.Token == JsonTokenType.Number)
        {
            return decimal.TryParse(cell.Raw, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }

        value = 0;
        return cell.Token == JsonTokenType.String && decimal.TryParse(cell.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryGetDouble(Cell cell, out double value)
    {
        value = 0;
        return cell.Token switch
        {
            JsonTokenType.Number => double.TryParse(cell.Raw, NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            JsonTokenType.String => double.TryParse(cell.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    private static bool? AsBoolean(Cell cell) => cell.Token switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.String => ParseBoolean(cell.Text!),
        JsonTokenType.Number => cell.Raw.SequenceEqual("0"u8) ? false : cell.Raw.SequenceEqual("1"u8) ? true : null,
        _ => null,
    };

    private static bool? ParseBoolean(string text) => text.ToLowerInvariant() switch
    {
        "true" or "t" or "yes" or "y" or "on" or "1" => true,
        "false" or "f" or "no" or "n" or "off" or "0" => false,
        _ => null,
    };

    /// <summary>Translates a SQL LIKE pattern (<c>%</c>, <c>_</c>, backslash escapes) into an anchored regular expression.</summary>
    private static string LikeToRegex(string like)
    {
        var regex = new StringBuilder("^");
        for (int i = 0; i < like.Length; i++)
        {
            char c = like[i];
            switch (c)
            {
                case '%':
                    regex.Append(".*");
                    break;
                case '_':
                    regex.Append('.');
                    break;
                case '\\' when i + 1 < like.Length:
                    regex.Append(Regex.Escape(like[++i].ToString()));
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return regex.Append('$').ToString();
    }
}
