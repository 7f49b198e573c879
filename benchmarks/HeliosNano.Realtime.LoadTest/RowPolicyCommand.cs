using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>rowpolicy</c> (issue 12): N authenticated subscribers of one table in T tenants, one server process per
/// configuration of <see cref="RowPolicyServer"/> (none, open, tenant, filter), all up at once, their flat-out and
/// fixed-rate passes interleaved over <c>--rounds</c>; then the open policy again at other tenant counts (the policy
/// groups) for the cost of the row step per change. Every client accounts for exactly its share of the rows: its
/// tenant's with the tenant policy or filter, all of them otherwise; another tenant's row counts as a leak.
/// </summary>
internal static class RowPolicyCommand
{
    public static async Task<int> RunAsync(CommandLine args, CancellationToken cancellationToken)
    {
        int connections = args.GetInt("connections", 1000);
        int tenants = args.GetInt("tenants", 100);
        string[] modes = args.GetStrings("modes", RowPolicyServer.Modes);
        int[] groups = args.GetInts("groups", [1, 10, 1000]);
        int rounds = args.GetInt("rounds", 3);
        double seconds = args.GetDouble("seconds", 10);
        long deliveries = args.GetInt("deliveries", 1_000_000);
        double rate = args.GetDouble("rate", 20);
        double latencySeconds = args.GetDouble("latency-seconds", 10);
        int noteBytes = args.GetInt("note-bytes", 64);
        int concurrency = args.GetInt("concurrency", 64);
        string outDir = args.GetString("out", Path.Combine("benchmarks", "results"));
        args.EnsureAllUsed();

        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var configs = modes.Select(m => new PolicyConfig(m, tenants)).ToList();
        configs.AddRange(groups.Where(g => g != tenants || !modes.Contains("open")).Select(g => new PolicyConfig("open", g)));
        var sessions = new List<(PolicyConfig Config, LoadSession Session)>();
        var rows = new List<PolicyRow>();
        try
        {
            foreach (PolicyConfig config in configs)
            {
                LoadOutput.Line($"=== rowpolicy: {config.Label}, connecting {connections} clients ===");
                string[] serverArgs = ["--policy", config.Mode, "--tenants", config.Tenants.ToString(CultureInfo.InvariantCulture), "--jwt-secret", secret];
                LoadSession session = await LoadSession.StartAsync("helios", noteBytes, cancellationToken, "rowpolicy", serverArgs, config.Label);
                sessions.Add((config, session));
                var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
                await session.ConnectAsync(connections, concurrency, cancellationToken, id => Plan(session.Server, config, id, key));
                for (int w = 0; w < 2; w++)
                {
                    await RunAsync(session, config, "warm-up", 0, Math.Clamp(300_000 / connections, 50, 3000), 30, cancellationToken);
                }
            }

            for (int round = 1; round <= rounds; round++)
            {
                var order = round % 2 == 1 ? sessions : Enumerable.Reverse(sessions).ToList();
                var flat = new Dictionary<LoadSession, PassResult>();
                foreach ((PolicyConfig config, LoadSession session) in order)
                {
                    LoadOutput.Line($"=== rowpolicy round {round}: {config.Label} flat out ===");
                    long count = Math.Clamp(deliveries * config.Share / connections, 100, 1_000_000);
                    flat[session] = await RunAsync(session, config, "flat out", 0, count, seconds, cancellationToken);
                }

                foreach ((PolicyConfig config, LoadSession session) in order)
                {
                    PassResult? paced = config.Tenants == tenants
                        ? await RunAsync(session, config, $"rate {rate:0}/s", rate, (long)(rate * latencySeconds), latencySeconds * 3, cancellationToken)
                        : null;
                    var row = new PolicyRow(round, config, connections, flat[session], paced, session.Fleet.Totals().Open);
                    rows.Add(row);
                    Console.WriteLine($"round {round}, {config.Label}: {row.Open:N0} clients open\n  {row.Flat.Describe()}{(paced is null ? "" : "\n  " + paced.Describe())}");
                }
            }
        }
        finally
        {
            foreach ((_, LoadSession session) in sessions)
            {
                await session.DisposeAsync();
            }
        }

        Directory.CreateDirectory(outDir);
        string markdown = RowPolicyReport.Markdown(rows, tenants, rate, latencySeconds, noteBytes);
        string mdPath = Path.Combine(outDir, "rowpolicy-results.md");
        string svgPath = Path.Combine(outDir, "rowpolicy-chart.svg");
        string groupsPath = Path.Combine(outDir, "rowpolicy-groups.svg");
        await File.WriteAllTextAsync(mdPath, markdown, cancellationToken);
        await File.WriteAllTextAsync(svgPath, RowPolicyReport.Chart(rows, tenants), cancellationToken);
        await File.WriteAllTextAsync(groupsPath, RowPolicyReport.GroupsChart(rows), cancellationToken);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {mdPath}, {svgPath} and {groupsPath}");
        return rows.All(r => r.NothingLost) ? 0 : 1;
    }

    /// <summary>One pass with every client expecting exactly its share of the rows the pass publishes.</summary>
    private static async Task<PassResult> RunAsync(LoadSession session, PolicyConfig config, string mode, double rate, long count, double seconds, CancellationToken cancellationToken)
    {
        // The pass's first row (id 1, tenant 0) takes the sequence after the last one published.
        long first = (await session.Server.GetStatsAsync(false, cancellationToken)).LastSequence + 1;
        int stride = config.Share;
        foreach (LoadConnection c in session.Fleet.Connections)
        {
            c.ExpectEvery(stride, first + (stride == 1 ? 0 : c.Id % config.Tenants));
        }

        return await session.RunPassAsync(mode, rate, count, seconds, cancellationToken, published => Expected(published, session.Fleet.Count, config));
    }

    /// <summary>Deliveries due for <paramref name="published"/> rows: all to all, or row i to the clients of tenant (i − 1) mod T.</summary>
    internal static long Expected(long published, int connections, PolicyConfig config)
    {
        if (config.Share == 1)
        {
            return published * connections;
        }

        long total = 0;
        for (int id = 0; id < connections; id++)
        {
            int tenant = id % config.Tenants;
            total += published > tenant ? ((published - 1 - tenant) / config.Tenants) + 1 : 0;
        }

        return total;
    }

    /// <summary>Client <paramref name="id"/>: tenant id mod T, a token carrying it, and a supabase-js-shaped join of public.orders.</summary>
    private static ClientPlan Plan(ServerProcess server, PolicyConfig config, int id, SymmetricSecurityKey key)
    {
        string tenant = RowPolicyServer.TenantName(id % config.Tenants);
        string token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>
            {
                ["sub"] = "user-" + id.ToString(CultureInfo.InvariantCulture),
                ["role"] = "authenticated",
                ["tenant_id"] = tenant,
            },
            Expires = DateTime.UtcNow.AddHours(6),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        string filter = config.Mode == "filter" ? $",\"filter\":\"tenant_id=eq.{tenant}\"" : "";
        string join = "{\"event\":\"phx_join\",\"topic\":\"realtime:orders-feed\",\"ref\":\"1\",\"payload\":{\"config\":{\"postgres_changes\":"
            + $"[{{\"event\":\"*\",\"schema\":\"{OrderPayload.Schema}\",\"table\":\"{OrderPayload.Table}\"{filter}}}]}}}}}}";
        return new ClientPlan(new Uri($"{server.ClientUri}?vsn=1.0.0&token={token}"), Encoding.UTF8.GetBytes(join));
    }
}

/// <summary>One server configuration: a mode of <see cref="RowPolicyServer"/> over <see cref="Tenants"/> tenants.</summary>
internal sealed record PolicyConfig(string Mode, int Tenants)
{
    /// <summary>Gets 1 when every client gets every row, else T (a client gets every T-th row).</summary>
    public int Share => Mode is "tenant" or "filter" ? Tenants : 1;

    public string Label => string.Create(CultureInfo.InvariantCulture, $"{Mode}/{Tenants}");
}

/// <summary>One configuration in one round.</summary>
internal sealed record PolicyRow(int Round, PolicyConfig Config, int Connections, PassResult Flat, PassResult? Paced, int Open)
{
    public bool NothingLost => Open == Connections && Clean(Flat) && (Paced is null || Clean(Paced));

    /// <summary>Gets the rows published per second of the flat-out pass.</summary>
    public double ChangesPerSecond => Flat.Seconds > 0 ? Flat.Published / Flat.Seconds : 0;

    /// <summary>Gets the server's CPU time per row published, in µs, flat out.</summary>
    public double CpuPerChangeUs => Flat.Published == 0 ? 0 : Flat.ServerCpu.TotalMicroseconds / Flat.Published;

    /// <summary>Gets the row policy evaluations per row published, flat out (the number of groups, if evaluated once per group).</summary>
    public double EvaluationsPerChange => Flat.Published == 0 ? 0 : Flat.PolicyEvaluations / (double)Flat.Published;

    private static bool Clean(PassResult p) => p.Unaccounted == 0 && p.Gaps == 0 && p.OutOfOrder == 0 && p.Foreign == 0;
}
