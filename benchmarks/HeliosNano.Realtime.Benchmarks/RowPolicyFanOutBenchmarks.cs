using System.Security.Claims;
using System.Text;
using BenchmarkDotNet.Attributes;
using HeliosNano.Realtime.WebSockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// (e) The row-policy step of fan-out (issue 12): what one change costs the policy work of 1,000 subscribers of one
/// table, with the tenant policy <c>customer = claims.tenant_id</c>, as the number of distinct tenants (policy
/// groups) grows. <c>NoPolicy</c> is each subscriber's channel asking for its group and finding none (the price of the
/// feature when unused); <c>Grouped</c> is what the adapter does (every subscriber asks its group; the first of each
/// group evaluates, the others reuse the outcome); <c>PerSubscriber</c> evaluates the rule once per subscriber, as
/// Supabase's <c>apply_rls</c> runs one query per subscriber. Frame building and sending are not included.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class RowPolicyFanOutBenchmarks
{
    private const int Subscribers = 1_000;

    private ChangeNotifier _notifier = null!;
    private ChangeReader _reader = null!;
    private ChangeEvent[] _changes = null!;
    private RealtimeChannelAuth[] _grouped = null!;
    private RealtimeChannelAuth[] _unrestricted = null!;
    private RealtimeRowPolicy _policy = null!;
    private Dictionary<string, string?>[] _claims = null!;
    private int _next;

    /// <summary>Gets or sets the number of tenants, i.e. policy groups, the 1,000 subscribers fall into.</summary>
    [Params(1, 10, 100, 1000)]
    public int Groups { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1 << 16 });
        _notifier.GetTable("public", "orders").SetColumns([new ChangeColumn("id", "int4"), new ChangeColumn("customer", "text"), new ChangeColumn("total", "numeric")]);
        _reader = _notifier.Subscribe();

        // Enough distinct changes that every invocation sees a new sequence (the groups' outcome rings never hit stale).
        _changes = new ChangeEvent[1 << 15];
        for (int i = 0; i < _changes.Length; i++)
        {
            string row = $$"""{"id":{{i}},"customer":"tenant-{{i % Groups}}","total":"12.50","status":"pending"}""";
            _notifier.Notify("public", "orders", ChangeKind.Insert, Encoding.UTF8.GetBytes(row), []);
            _reader.TryRead(out ChangeEvent? change);
            _changes[i] = change!;
        }

        _policy = RealtimeRowPolicy.ColumnEqualsClaim("tenant_rows", "public", "orders", "customer", "tenant_id");
        var withPolicy = new RealtimeAuthOptions();
        withPolicy.RowPolicies.Add(_policy);
        var rows = new RowPolicyRegistry(withPolicy, NullLogger.Instance);
        var none = new RowPolicyRegistry(new RealtimeAuthOptions(), NullLogger.Instance);
        _grouped = new RealtimeChannelAuth[Subscribers];
        _unrestricted = new RealtimeChannelAuth[Subscribers];
        _claims = new Dictionary<string, string?>[Subscribers];
        for (int s = 0; s < Subscribers; s++)
        {
            string tenant = "tenant-" + (s % Groups);
            var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("tenant_id", tenant), new Claim("role", "authenticated")], "bench"));
            _grouped[s] = new RealtimeChannelAuth(user, null, null, rows);
            _unrestricted[s] = new RealtimeChannelAuth(user, null, null, none);
            _claims[s] = new Dictionary<string, string?> { ["tenant_id"] = tenant };
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _notifier.Dispose();
    }

    private ChangeEvent NextChange() => _changes[_next++ & (_changes.Length - 1)];

    [Benchmark(Baseline = true)]
    public int NoPolicy()
    {
        ChangeEvent change = NextChange();
        int visible = 0;
        foreach (RealtimeChannelAuth auth in _unrestricted)
        {
            visible += auth.GetRowGroup(change) is null ? 1 : 0;
        }

        return visible;
    }

    [Benchmark]
    public int Grouped()
    {
        ChangeEvent change = NextChange();
        int visible = 0;
        foreach (RealtimeChannelAuth auth in _grouped)
        {
            visible += auth.GetRowGroup(change)!.Evaluate(change, out _) == RowVisibility.Visible ? 1 : 0;
        }

        return visible;
    }

    [Benchmark]
    public int PerSubscriber()
    {
        ChangeEvent change = NextChange();
        int visible = 0;
        foreach (Dictionary<string, string?> claims in _claims)
        {
            visible += _policy.Evaluate(change.Record, claims) ? 1 : 0;
        }

        return visible;
    }
}
