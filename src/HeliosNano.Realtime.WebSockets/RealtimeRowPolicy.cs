using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// A row-level policy for <c>postgres_changes</c> on one table: a rule over a row image and the subscriber's claims,
/// like a PostgreSQL <c>CREATE POLICY … FOR SELECT USING (…)</c>. Several policies on one table combine with OR
/// (PostgreSQL's permissive policies).
/// </summary>
/// <remarks>
/// <para>
/// The rule sees only the claims it declares (<see cref="Claims"/>), so subscribers whose declared claim values are
/// equal form one <em>policy group</em>, and each change is evaluated once per group, not once per subscriber
/// (Supabase runs one query per subscriber per change). A rule must therefore be a pure function of the row and
/// those claims.
/// </para>
/// <para>
/// A missing claim is <see langword="null"/>; <see cref="ColumnEqualsClaim"/> never matches it (SQL's
/// <c>NULL = x</c>). A rule that throws hides that change from its group only, which gets a <c>system</c> error.
/// </para>
/// </remarks>
public sealed class RealtimeRowPolicy
{
    private readonly Func<RealtimeRowPolicyContext, bool>? _predicate;
    private readonly string? _column;

    private RealtimeRowPolicy(string name, string schema, string table, string[] claims, Func<RealtimeRowPolicyContext, bool>? predicate, string? column)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(schema);
        ArgumentException.ThrowIfNullOrEmpty(table);
        Name = name;
        Schema = schema;
        Table = table;
        Claims = claims;
        _predicate = predicate;
        _column = column;
    }

    /// <summary>Gets the policy's name, used in logs and errors.</summary>
    public string Name { get; }

    /// <summary>Gets the table's schema.</summary>
    public string Schema { get; }

    /// <summary>Gets the table.</summary>
    public string Table { get; }

    /// <summary>Gets the claims the rule reads: the values that define a subscriber's policy group.</summary>
    public IReadOnlyList<string> Claims { get; }

    /// <summary>
    /// Creates the common policy <c>column = claims.claim</c> (e.g. <c>tenant_id = auth.jwt() -&gt;&gt; 'tenant_id'</c>,
    /// or <c>owner = auth.uid()</c> with the claim <c>sub</c>), compared as text; it reads the row's bytes without parsing
    /// them into a document.
    /// </summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="schema">The table's schema, e.g. <c>public</c>.</param>
    /// <param name="table">The table.</param>
    /// <param name="column">The row's column.</param>
    /// <param name="claim">The claim compared with it, e.g. <c>sub</c>.</param>
    /// <returns>The policy.</returns>
    public static RealtimeRowPolicy ColumnEqualsClaim(string name, string schema, string table, string column, string claim)
    {
        ArgumentException.ThrowIfNullOrEmpty(column);
        ArgumentException.ThrowIfNullOrEmpty(claim);
        return new RealtimeRowPolicy(name, schema, table, [claim], null, column);
    }

    /// <summary>Creates a policy from any rule over the row and the declared claims.</summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="schema">The table's schema.</param>
    /// <param name="table">The table.</param>
    /// <param name="claims">Every claim the rule reads through <see cref="RealtimeRowPolicyContext.GetClaim"/>.</param>
    /// <param name="predicate">Returns whether the row is visible.</param>
    /// <returns>The policy.</returns>
    public static RealtimeRowPolicy Create(string name, string schema, string table, IEnumerable<string> claims, Func<RealtimeRowPolicyContext, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(predicate);
        return new RealtimeRowPolicy(name, schema, table, [.. claims], predicate, null);
    }

    /// <summary>Evaluates the rule on one row image; <paramref name="claims"/> resolves a declared claim's value.</summary>
    internal bool Evaluate(ReadOnlyMemory<byte> row, IReadOnlyDictionary<string, string?> claims)
    {
        if (_column is not null)
        {
            string? expected = claims.GetValueOrDefault(Claims[0]);
            return expected is not null && RowColumnEquals(row.Span, _column, expected);
        }

        return _predicate!(new RealtimeRowPolicyContext(row, claims));
    }

    /// <summary>Compares a top-level column of a JSON row with <paramref name="expected"/> as text (numbers and booleans by their JSON text).</summary>
    internal static bool RowColumnEquals(ReadOnlySpan<byte> row, string column, string expected)
    {
        var reader = new Utf8JsonReader(row);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isColumn = reader.ValueTextEquals(column);
            reader.Read();
            if (!isColumn)
            {
                reader.Skip();
                continue;
            }

            return reader.TokenType switch
            {
                JsonTokenType.String => reader.ValueTextEquals(expected),
                JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => System.Text.Encoding.UTF8.GetString(reader.ValueSpan) == expected,
                _ => false,
            };
        }

        return false;
    }
}

/// <summary>What a <see cref="RealtimeRowPolicy"/> rule sees: one row image and the subscriber group's claims.</summary>
public sealed class RealtimeRowPolicyContext
{
    private readonly ReadOnlyMemory<byte> _row;
    private readonly IReadOnlyDictionary<string, string?> _claims;
    private JsonElement? _element;

    internal RealtimeRowPolicyContext(ReadOnlyMemory<byte> row, IReadOnlyDictionary<string, string?> claims)
    {
        _row = row;
        _claims = claims;
    }

    /// <summary>Gets the row image's JSON bytes (<c>record</c> or <c>old_record</c>).</summary>
    public ReadOnlyMemory<byte> RowUtf8 => _row;

    /// <summary>Gets the row image as a JSON element (parsed on first use).</summary>
    public JsonElement Row => _element ??= JsonDocument.Parse(_row).RootElement;

    /// <summary>Gets a declared claim's value, or <see langword="null"/> when the subscriber has none.</summary>
    /// <param name="name">A claim listed in <see cref="RealtimeRowPolicy.Claims"/>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">The claim was not declared: the policy group would not account for it.</exception>
    public string? GetClaim(string name) => _claims.TryGetValue(name, out string? value)
        ? value
        : throw new ArgumentException($"The claim '{name}' is not declared by the policy.", nameof(name));

    /// <summary>Returns whether a top-level column of the row equals <paramref name="expected"/> as text.</summary>
    /// <param name="column">The column.</param>
    /// <param name="expected">The text to compare with.</param>
    /// <returns>Whether they are equal.</returns>
    public bool ColumnEquals(string column, string? expected) => expected is not null && RealtimeRowPolicy.RowColumnEquals(_row.Span, column, expected);
}
