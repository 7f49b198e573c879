using System.Diagnostics.Metrics;
using System.Security.Claims;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The endpoint's row-level policies by table, and the live <see cref="RowPolicyGroup"/>s: one per distinct
/// (table, values of the claims the table's policies read), shared by every channel of every connection in it.
/// </summary>
/// <remarks>
/// A channel acquires its group for a table the first time a change of that table reaches it and releases it when it
/// ends or gets a new token; a group with no channel left is dropped, so one group per user (<c>owner = sub</c>) does
/// not grow without bound.
/// </remarks>
internal sealed class RowPolicyRegistry
{
    private readonly RealtimeRowPolicyCollection _policies;
    private Dictionary<(string Schema, string Table), RowPolicySet> _sets = [];
    private int _setsVersion = -1;
    private readonly Dictionary<string, RowPolicyGroup> _groups = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly HashSet<string> _bypassRoles;
    private readonly Counter<long>? _evaluationCounter;
    private long _evaluations;

    public RowPolicyRegistry(RealtimeAuthOptions options, ILogger logger, Meter? meter = null)
    {
        Logger = logger;
        _evaluationCounter = meter?.CreateCounter<long>("heliosnano.realtime.ws.row_policy.evaluations", "{evaluation}", "Row policy evaluations: one per change, row image and policy group (never per subscriber).");
        _bypassRoles = new HashSet<string>(options.BypassRowPolicyRoles, StringComparer.Ordinal);
        _policies = options.RowPolicies;
    }

    /// <summary>Gets the policies' version; a channel holding groups of another version drops them.</summary>
    public int Version => _policies.Version;

    public ILogger Logger { get; }

    /// <summary>Gets whether any table has a policy; without one no channel asks for a group.</summary>
    public bool HasPolicies => _policies.Count > 0;

    /// <summary>Gets how many rule evaluations ran (each is one policy set on one row image for one group), for tests and benchmarks.</summary>
    public long Evaluations => Interlocked.Read(ref _evaluations);

    /// <summary>Gets how many groups are live.</summary>
    public int GroupCount
    {
        get
        {
            lock (_gate)
            {
                return _groups.Count;
            }
        }
    }

    /// <summary>Returns whether <paramref name="user"/>'s role bypasses row policies (<c>service_role</c> by default).</summary>
    public bool Bypasses(ClaimsPrincipal user) => RealtimeClaims.Get(user, "role") is { } role && _bypassRoles.Contains(role);

    /// <summary>
    /// Returns the group of <paramref name="user"/> for a table, with one more reference, or <see langword="null"/> when the
    /// table has no policy.
    /// </summary>
    public RowPolicyGroup? Acquire(string schema, string table, ClaimsPrincipal user)
    {
        RowPolicySet? set;
        lock (_gate)
        {
            if (_setsVersion != _policies.Version)
            {
                (RealtimeRowPolicy[] policies, int version) = _policies.SnapshotWithVersion();
                _sets = policies.GroupBy(p => (p.Schema, p.Table)).ToDictionary(g => g.Key, g => new RowPolicySet(g.Key.Schema, g.Key.Table, [.. g], version));
                _setsVersion = version;
            }

            if (!_sets.TryGetValue((schema, table), out set))
            {
                return null;
            }
        }

        var claims = new Dictionary<string, string?>(StringComparer.Ordinal);
        var key = new System.Text.StringBuilder(set.Id);
        foreach (string claim in set.Claims)
        {
            string? value = RealtimeClaims.Get(user, claim);
            claims[claim] = value;

            // Length-prefixed, so no two different value lists make the same key; null differs from "".
            key.Append('\u0001').Append(value is null ? "-" : value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(':').Append(value);
        }

        string k = key.ToString();
        lock (_gate)
        {
            if (!_groups.TryGetValue(k, out RowPolicyGroup? group))
            {
                group = new RowPolicyGroup(this, set, claims, k);
                _groups.Add(k, group);
            }

            group.References++;
            return group;
        }
    }

    public void Release(RowPolicyGroup group)
    {
        lock (_gate)
        {
            if (--group.References == 0)
            {
                _groups.Remove(group.Key);
            }
        }
    }

    internal void CountEvaluation()
    {
        Interlocked.Increment(ref _evaluations);
        _evaluationCounter?.Add(1);
    }
}

/// <summary>The policies of one table and the union of the claims they read.</summary>
internal sealed class RowPolicySet
{
    public RowPolicySet(string schema, string table, RealtimeRowPolicy[] policies, int version)
    {
        Schema = schema;
        Table = table;
        Policies = policies;
        Claims = [.. policies.SelectMany(p => p.Claims).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        // The version is part of the id: a group built on replaced policies is never handed out again.
        Id = version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\u0000" + schema + "\u0000" + table;
    }

    public string Schema { get; }

    public string Table { get; }

    public RealtimeRowPolicy[] Policies { get; }

    public string[] Claims { get; }

    public string Id { get; }

    /// <summary>PostgreSQL's permissive policies: a row is visible when any policy allows it.</summary>
    public bool IsVisible(ReadOnlyMemory<byte> row, IReadOnlyDictionary<string, string?> claims)
    {
        foreach (RealtimeRowPolicy policy in Policies)
        {
            if (policy.Evaluate(row, claims))
            {
                return true;
            }
        }

        return false;
    }
}
