namespace HeliosNano.Realtime;

/// <summary>One entry of a <see cref="ChangeFilter"/>: a schema and table, each exact or <c>*</c>, and a set of kinds.</summary>
/// <remarks>Names are compared ordinally (case-sensitive), as the engine reports them.</remarks>
public readonly record struct TableFilter
{
    /// <summary>The wildcard that matches any schema or any table.</summary>
    public const string Wildcard = "*";

    /// <summary>Initializes a new entry.</summary>
    /// <param name="schema">The schema name, or <c>*</c> for every schema.</param>
    /// <param name="table">The table name, or <c>*</c> for every table of the schema.</param>
    /// <param name="kinds">The kinds of change to match. The default is <see cref="ChangeKinds.All"/>.</param>
    public TableFilter(string schema, string table, ChangeKinds kinds = ChangeKinds.All)
    {
        ArgumentException.ThrowIfNullOrEmpty(schema);
        ArgumentException.ThrowIfNullOrEmpty(table);
        Schema = schema;
        Table = table;
        Kinds = kinds & ChangeKinds.All;
    }

    /// <summary>Gets the schema name, or <c>*</c>.</summary>
    public string Schema { get; }

    /// <summary>Gets the table name, or <c>*</c>.</summary>
    public string Table { get; }

    /// <summary>Gets the kinds of change this entry matches.</summary>
    public ChangeKinds Kinds { get; }

    /// <summary>Gets a value indicating whether this entry matches tables of every schema.</summary>
    public bool IsAnySchema => Schema == Wildcard;

    /// <summary>Gets a value indicating whether this entry matches every table of its schema.</summary>
    public bool IsAnyTable => Table == Wildcard;

    /// <summary>Returns whether a change to <paramref name="schema"/>.<paramref name="table"/> of kind <paramref name="kind"/> matches.</summary>
    /// <param name="schema">The schema of the change.</param>
    /// <param name="table">The table of the change.</param>
    /// <param name="kind">The kind of the change.</param>
    /// <returns><see langword="true"/> when the entry matches.</returns>
    public bool Matches(string schema, string table, ChangeKind kind) =>
        ((int)Kinds & (int)kind) != 0
        && (IsAnySchema || string.Equals(Schema, schema, StringComparison.Ordinal))
        && (IsAnyTable || string.Equals(Table, table, StringComparison.Ordinal));

    /// <inheritdoc/>
    public override string ToString() => $"{Schema}.{Table} ({Kinds})";
}
