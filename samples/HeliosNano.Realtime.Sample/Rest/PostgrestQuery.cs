using System.Globalization;
using System.Text;
using System.Text.Json;
using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Primitives;

namespace HeliosNano.Realtime.Sample.Rest;

/// <summary>The PostgREST query string of a <c>/rest/v1/{table}</c> request, validated against the table and turned into SQL.</summary>
/// <remarks>
/// Supported: <c>select=*</c> or a column list (with <c>alias:column</c>), horizontal filters
/// <c>column=[not.]op.value</c> with <c>eq neq gt gte lt lte like ilike is in</c>, <c>order=col[.asc|.desc][.nullsfirst|.nullslast],…</c>,
/// <c>limit</c>, <c>offset</c> and <c>on_conflict</c>. Column names are looked up in the catalog and quoted from there;
/// values are always bound as parameters.
/// </remarks>
internal sealed class PostgrestQuery
{
    private static readonly HashSet<string> s_reserved = new(StringComparer.Ordinal) { "select", "order", "limit", "offset", "on_conflict", "columns", "apikey" };

    private readonly List<string> _conditions = [];

    private PostgrestQuery(TableInfo table)
    {
        Table = table;
    }

    /// <summary>Gets the table.</summary>
    public TableInfo Table { get; }

    /// <summary>Gets the SQL select list (<c>*</c> or quoted columns with aliases).</summary>
    public string SelectList { get; private set; } = "*";

    /// <summary>Gets the <c>WHERE …</c> clause, or an empty string.</summary>
    public string WhereClause => _conditions.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", _conditions);

    /// <summary>Gets the <c>ORDER BY …</c> clause, or an empty string.</summary>
    public string OrderClause { get; private set; } = string.Empty;

    /// <summary>Gets the row limit, if any.</summary>
    public long? Limit { get; private set; }

    /// <summary>Gets the row offset (0 when absent).</summary>
    public long Offset { get; private set; }

    /// <summary>Gets the conflict target columns of an upsert (quoted), if given.</summary>
    public IReadOnlyList<string>? OnConflict { get; private set; }

    /// <summary>Gets the parameter values, named <c>$f0</c>, <c>$f1</c>, … in the SQL.</summary>
    public List<object> Parameters { get; } = [];

    /// <summary>Parses and validates the query string against <paramref name="table"/>.</summary>
    public static PostgrestQuery Parse(IQueryCollection query, TableInfo table)
    {
        var result = new PostgrestQuery(table);
        foreach ((string key, StringValues values) in query)
        {
            if (s_reserved.Contains(key))
            {
                continue;
            }

            if (key is "or" or "and" or "not.or" or "not.and")
            {
                throw new RestException(400, "PGRST100", $"Logical filters ('{key}') are not supported by the sample server.");
            }

            TableColumn column = result.Column(key);
            foreach (string? value in values)
            {
                result._conditions.Add(result.Condition(column, value ?? string.Empty));
            }
        }

        if (query.TryGetValue("select", out StringValues select) && !string.IsNullOrWhiteSpace(select.ToString()))
        {
            result.SelectList = result.ParseSelect(select.ToString());
        }

        if (query.TryGetValue("order", out StringValues order) && !string.IsNullOrWhiteSpace(order.ToString()))
        {
            result.OrderClause = " ORDER BY " + result.ParseOrder(order.ToString());
        }

        if (query.TryGetValue("limit", out StringValues limit))
        {
            result.Limit = ParseCount("limit", limit.ToString());
        }

        if (query.TryGetValue("offset", out StringValues offset))
        {
            result.Offset = ParseCount("offset", offset.ToString());
        }

        if (query.TryGetValue("on_conflict", out StringValues onConflict) && !string.IsNullOrWhiteSpace(onConflict.ToString()))
        {
            result.OnConflict = onConflict.ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(name => TableInfo.Quote(result.Column(name).Name)).ToList();
        }

        return result;
    }

    /// <summary>Adds a condition the server imposes (a row-level policy), AND-ed with the request's filters.</summary>
    public void AddCondition(string condition) => _conditions.Add(condition);

    /// <summary>Adds a parameter and returns its SQL name.</summary>
    public string AddParameter(object value)
    {
        string name = "$f" + Parameters.Count.ToString(CultureInfo.InvariantCulture);
        Parameters.Add(value);
        return name;
    }

    /// <summary>Binds the parameters to <paramref name="command"/>.</summary>
    public void Bind(SqliteCommand command)
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            command.Parameters.AddWithValue("$f" + i.ToString(CultureInfo.InvariantCulture), Parameters[i]);
        }
    }

    /// <summary>Finds a column of the table or throws PostgREST's "column does not exist".</summary>
    public TableColumn Column(string name) =>
        Table.FindColumn(name.Trim()) ?? throw new RestException(400, "42703", $"column {Table.Name}.{name.Trim()} does not exist");

    /// <summary>Converts a JSON value from a request body into a SQLite value for <paramref name="column"/>.</summary>
    public static object ToDatabaseValue(JsonElement value, TableColumn column) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => DBNull.Value,
        JsonValueKind.True => 1L,
        JsonValueKind.False => 0L,
        JsonValueKind.Number when value.TryGetInt64(out long l) => l,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String when column.IsBoolean => ToBoolean(value.GetString()!, column),
        JsonValueKind.String => value.GetString()!,
        _ => value.GetRawText(),
    };

    private static long ToBoolean(string text, TableColumn column) => text.ToUpperInvariant() switch
    {
        "TRUE" or "T" or "1" or "YES" or "ON" => 1L,
        "FALSE" or "F" or "0" or "NO" or "OFF" => 0L,
        _ => throw new RestException(400, "22P02", $"invalid input syntax for type boolean: \"{text}\" (column {column.Name})"),
    };

    private static long ParseCount(string name, string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new RestException(400, "PGRST100", $"'{name}' must be a non-negative integer, not '{text}'.");

    private string Condition(TableColumn column, string filter)
    {
        bool negate = false;
        if (filter.StartsWith("not.", StringComparison.Ordinal))
        {
            negate = true;
            filter = filter[4..];
        }

        int dot = filter.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            throw new RestException(400, "PGRST100", $"\"failed to parse filter ({filter})\" (line 1, column 1)", hint: "Filters look like column=eq.value.");
        }

        string op = filter[..dot];
        string operand = filter[(dot + 1)..];
        string target = TableInfo.Quote(column.Name);
        string condition = op switch
        {
            "eq" => $"{target} = {Value(column, operand)}",
            "neq" => $"{target} <> {Value(column, operand)}",
            "gt" => $"{target} > {Value(column, operand)}",
            "gte" => $"{target} >= {Value(column, operand)}",
            "lt" => $"{target} < {Value(column, operand)}",
            "lte" => $"{target} <= {Value(column, operand)}",
            "like" => $"{target} GLOB {AddParameter(LikeToGlob(operand))}",
            "ilike" => $"lower({target}) GLOB lower({AddParameter(LikeToGlob(operand))})",
            "is" => operand.ToUpperInvariant() switch
            {
                "NULL" or "UNKNOWN" => $"{target} IS NULL",
                "TRUE" => $"{target} IS 1",
                "FALSE" => $"{target} IS 0",
                _ => throw new RestException(400, "PGRST100", $"'is' takes null, true, false or unknown, not '{operand}'."),
            },
            "in" => $"{target} IN ({string.Join(", ", ParseList(operand).Select(item => Value(column, item)))})",
            _ => throw new RestException(400, "PGRST100", $"The operator '{op}' is not supported by the sample server.", hint: "Use eq, neq, gt, gte, lt, lte, like, ilike, is or in."),
        };
        return negate ? $"NOT ({condition})" : condition;
    }

    private string Value(TableColumn column, string text) =>
        AddParameter(column.IsBoolean ? ToBoolean(text, column) : (object)text);

    private static List<string> ParseList(string operand)
    {
        if (operand.Length < 2 || operand[0] != '(' || operand[^1] != ')')
        {
            throw new RestException(400, "PGRST100", $"'in' takes a list in parentheses, e.g. in.(1,2,3), not '{operand}'.");
        }

        var items = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        string body = operand[1..^1];
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == '\\' && quoted && i + 1 < body.Length)
            {
                current.Append(body[++i]);
            }
            else if (c == ',' && !quoted)
            {
                items.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        items.Add(current.ToString());
        return items;
    }

    private static string LikeToGlob(string pattern)
    {
        // PostgREST accepts '*' for '%'; GLOB keeps LIKE's case sensitivity (SQLite's LIKE ignores ASCII case).
        var glob = new StringBuilder(pattern.Length);
        foreach (char c in pattern)
        {
            glob.Append(c switch
            {
                '%' or '*' => "*",
                '_' => "?",
                '?' => "[?]",
                '[' => "[[]",
                _ => c.ToString(),
            });
        }

        return glob.ToString();
    }

    private string ParseSelect(string select)
    {
        // Each column (and *) at most once: the result is then at most twice the table's width, whatever the query
        // string repeats (select=*,*,… would otherwise multiply every row by up to SQLite's 2,000 result columns).
        var items = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string raw in select.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (raw == "*")
            {
                if (items.Contains("*"))
                {
                    throw new RestException(400, "PGRST100", "'*' appears more than once in select.");
                }

                items.Add("*");
                continue;
            }

            if (raw.Contains('(', StringComparison.Ordinal))
            {
                throw new RestException(400, "PGRST100", $"Embedded resources ('{raw}') are not supported by the sample server.");
            }

            string alias = raw;
            string name = raw;
            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && (colon + 1 >= raw.Length || raw[colon + 1] != ':'))
            {
                alias = raw[..colon];
                name = raw[(colon + 1)..];
            }

            // A cast (column::type) is accepted and ignored: SQLite values keep their own type.
            int cast = name.IndexOf("::", StringComparison.Ordinal);
            if (cast >= 0)
            {
                name = name[..cast];
                alias = alias == raw ? name : alias;
            }

            if (alias.Contains('\0', StringComparison.Ordinal))
            {
                throw new RestException(400, "PGRST100", "An alias in select contains a NUL character.");
            }

            TableColumn column = Column(name);
            if (!seen.Add(column.Name))
            {
                throw new RestException(400, "PGRST100", $"Column '{column.Name}' appears more than once in select.");
            }

            items.Add(string.Equals(alias, name, StringComparison.Ordinal)
                ? TableInfo.Quote(column.Name)
                : $"{TableInfo.Quote(column.Name)} AS {TableInfo.Quote(alias)}");
        }

        return items.Count == 0 ? "*" : string.Join(", ", items);
    }

    private string ParseOrder(string order)
    {
        var terms = new List<string>();
        foreach (string term in order.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = term.Split('.');
            var sql = new StringBuilder(TableInfo.Quote(Column(parts[0]).Name));
            foreach (string modifier in parts.Skip(1))
            {
                sql.Append(modifier switch
                {
                    "asc" => " ASC",
                    "desc" => " DESC",
                    "nullsfirst" => " NULLS FIRST",
                    "nullslast" => " NULLS LAST",
                    _ => throw new RestException(400, "PGRST100", $"Unknown order modifier '{modifier}' in '{term}'."),
                });
            }

            terms.Add(sql.ToString());
        }

        return string.Join(", ", terms);
    }
}
