using System.Security.Claims;
using System.Text.RegularExpressions;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.Sample.Auth;

/// <summary>
/// The row-level security the sample understands, declared through <c>POST /sql</c> in Supabase's own form:
/// <c>CREATE POLICY name ON table FOR SELECT USING (column = auth.uid())</c>, <c>… USING (column = auth.jwt() -&gt;&gt; 'claim')</c>
/// (also <c>auth.jwt() -&gt; 'user_metadata' -&gt;&gt; 'claim'</c>), <c>… USING (true)</c>, and for private realtime channels
/// <c>CREATE POLICY name ON realtime.messages FOR SELECT|INSERT USING|WITH CHECK (realtime.topic() = auth.jwt() -&gt;&gt; 'claim')</c>.
/// </summary>
/// <remarks>
/// A table with at least one SELECT policy has row-level security: REST reads and realtime changes show only the rows
/// a policy allows (permissive policies combine with OR), and REST writes to it need the service role. A
/// <c>service_role</c> token bypasses every policy, as on Supabase. <c>ALTER TABLE … ENABLE ROW LEVEL SECURITY</c> is
/// accepted and changes nothing (a policy is what turns it on here).
/// </remarks>
internal sealed partial class SamplePolicies
{
    public const string ServiceRole = "service_role";
    public const string ReadTopicPolicy = "sample-realtime-read";
    public const string WriteTopicPolicy = "sample-realtime-write";

    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private RealtimeRowPolicyCollection? _realtime;

    /// <summary>One declared policy: <paramref name="Claim"/> is null for <c>USING (true)</c>.</summary>
    private sealed record Rule(string Name, string Table, bool ForSelect, bool ForInsert, string? Column, string? Claim);

    [GeneratedRegex(@"^\s*CREATE\s+POLICY\s+(?<name>""[^""]+""|\w+)\s+ON\s+(?:(?<schema>\w+)\.)?(?<table>\w+)\s+(?:AS\s+PERMISSIVE\s+)?(?:FOR\s+(?<cmd>SELECT|INSERT|ALL)\s+)?(?:TO\s+[\w\s,]+?\s+)?(?:USING|WITH\s+CHECK)\s*\((?<expr>.*)\)\s*;?\s*$", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex CreatePolicy();

    [GeneratedRegex(@"^\s*ALTER\s+TABLE\s+(?:\w+\.)?\w+\s+ENABLE\s+ROW\s+LEVEL\s+SECURITY\s*;?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex EnableRls();

    [GeneratedRegex(@"^\(?\s*(?:select\s+)?auth\.uid\(\)\s*\)?$|^\(?\s*(?:select\s+)?auth\.jwt\(\)\s*(?:->\s*'(?<outer>\w+)'\s*)?->>\s*'(?<claim>\w+)'\s*\)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex ClaimExpression();

    /// <summary>Connects the realtime endpoint's row policies, which this store fills.</summary>
    public void AttachRealtime(RealtimeRowPolicyCollection collection)
    {
        lock (_gate)
        {
            _realtime = collection;
            foreach (Rule rule in _rules.Where(r => r.ForSelect && r.Table != "realtime.messages"))
            {
                collection.Add(ToRealtime(rule));
            }
        }
    }

    /// <summary>
    /// Handles a statement that only declares security; returns its command tag (<c>CREATE POLICY</c>,
    /// <c>ALTER TABLE</c>), or <see langword="null"/> when it is ordinary SQL.
    /// </summary>
    /// <exception cref="FormatException">A <c>CREATE POLICY</c> whose expression the sample does not support.</exception>
    public string? TryApply(string statement)
    {
        if (EnableRls().IsMatch(statement))
        {
            return "ALTER TABLE";
        }

        Match match = CreatePolicy().Match(statement);
        if (!match.Success)
        {
            return statement.TrimStart().StartsWith("CREATE POLICY", StringComparison.OrdinalIgnoreCase)
                ? throw new FormatException("This CREATE POLICY form is not supported; use FOR SELECT USING (column = auth.uid()), (column = auth.jwt() ->> 'claim') or (true).")
                : null;
        }

        string schema = match.Groups["schema"].Success ? match.Groups["schema"].Value.ToLowerInvariant() : "public";
        string table = match.Groups["table"].Value;
        string command = match.Groups["cmd"].Success ? match.Groups["cmd"].Value.ToUpperInvariant() : "ALL";
        (string? column, string? claim) = ParseExpression(match.Groups["expr"].Value, schema == "realtime");
        string key = schema == "realtime" ? "realtime." + table.ToLowerInvariant() : table;
        if (schema == "realtime" && key != "realtime.messages")
        {
            throw new FormatException("Only realtime.messages takes policies in the realtime schema.");
        }

        var rule = new Rule(match.Groups["name"].Value.Trim('"'), key, command is "SELECT" or "ALL", command is "INSERT" or "ALL", column, claim);
        lock (_gate)
        {
            _rules.Add(rule);
            if (rule.ForSelect && key != "realtime.messages")
            {
                _realtime?.Add(ToRealtime(rule));
            }
        }

        return "CREATE POLICY";
    }

    /// <summary>Returns whether <paramref name="table"/> has row-level security (a SELECT policy).</summary>
    public bool HasPolicies(string table)
    {
        lock (_gate)
        {
            return _rules.Any(r => r.ForSelect && string.Equals(r.Table, table, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Returns the SQL condition a REST read of <paramref name="table"/> adds for <paramref name="user"/> (with its values
    /// bound through <paramref name="bind"/>), or <see langword="null"/> when nothing restricts it.
    /// </summary>
    public string? ReadCondition(string table, ClaimsPrincipal user, Func<object, string> bind)
    {
        List<Rule> rules;
        lock (_gate)
        {
            rules = [.. _rules.Where(r => r.ForSelect && string.Equals(r.Table, table, StringComparison.Ordinal))];
        }

        if (rules.Count == 0 || IsServiceRole(user))
        {
            return null;
        }

        var alternatives = new List<string>();
        foreach (Rule rule in rules)
        {
            if (rule.Claim is null)
            {
                return null;
            }

            string? value = SampleJwt.GetClaim(user, rule.Claim);
            if (value is not null)
            {
                // Compared as text, as the realtime policy does.
                alternatives.Add($"CAST(\"{rule.Column!.Replace("\"", "\"\"", StringComparison.Ordinal)}\" AS TEXT) = {bind(value)}");
            }
        }

        return alternatives.Count == 0 ? "0" : "(" + string.Join(" OR ", alternatives) + ")";
    }

    /// <summary>Decides a private realtime channel's read or write from the realtime.messages policies.</summary>
    public bool AllowsTopic(ClaimsPrincipal user, string topic, bool write)
    {
        if (IsServiceRole(user))
        {
            return true;
        }

        lock (_gate)
        {
            return _rules.Any(r => r.Table == "realtime.messages" && (write ? r.ForInsert : r.ForSelect)
                && (r.Claim is null || string.Equals(SampleJwt.GetClaim(user, r.Claim), topic, StringComparison.Ordinal)));
        }
    }

    public static bool IsServiceRole(ClaimsPrincipal user) => user.FindFirst("role")?.Value == ServiceRole;

    private static RealtimeRowPolicy ToRealtime(Rule rule) => rule.Claim is null
        ? RealtimeRowPolicy.Create(rule.Name, "public", rule.Table, [], static _ => true)
        : RealtimeRowPolicy.ColumnEqualsClaim(rule.Name, "public", rule.Table, rule.Column!, rule.Claim);

    private static (string? Column, string? Claim) ParseExpression(string expression, bool topic)
    {
        string expr = expression.Trim();
        if (string.Equals(expr, "true", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        int eq = expr.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new FormatException("A policy expression must be 'column = auth.uid()', 'column = auth.jwt() ->> ''claim''' or 'true'.");
        }

        string left = expr[..eq].Trim();
        string right = expr[(eq + 1)..].Trim();
        (string side, string other) = ClaimExpression().IsMatch(right) ? (left, right) : (right, left);
        Match claim = ClaimExpression().Match(other);
        if (!claim.Success)
        {
            throw new FormatException("A policy compares a column with auth.uid() or auth.jwt() ->> 'claim'.");
        }

        string claimName = !claim.Groups["claim"].Success ? "sub"
            : claim.Groups["outer"].Success ? claim.Groups["outer"].Value + "." + claim.Groups["claim"].Value
            : claim.Groups["claim"].Value;
        string column = side.Trim('(', ')', ' ').Trim('"');
        if (topic)
        {
            return string.Equals(column, "realtime.topic()", StringComparison.OrdinalIgnoreCase) || string.Equals(side.Replace(" ", string.Empty, StringComparison.Ordinal), "realtime.topic()", StringComparison.OrdinalIgnoreCase)
                ? (null, claimName)
                : throw new FormatException("A realtime.messages policy compares realtime.topic() with a claim.");
        }

        return Regex.IsMatch(column, @"^\w+$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
            ? (column, claimName)
            : throw new FormatException($"'{column}' is not a column name.");
    }
}
