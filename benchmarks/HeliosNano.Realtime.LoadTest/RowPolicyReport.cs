using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>The <c>rowpolicy</c> command's table, verdicts and charts.</summary>
internal static class RowPolicyReport
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    public static string Markdown(List<PolicyRow> rows, int tenants, double rate, double latencySeconds, int noteBytes)
    {
        var sb = new StringBuilder();
        int n = rows.Count == 0 ? 0 : rows[0].Connections;
        sb.AppendLine(s_c, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores; {n:N0} authenticated subscribers (JwtBearer, HS256) of public.orders in {tenants} tenants; note {noteBytes} B.");
        sb.AppendLine();
        sb.AppendLine(s_c, $"| round | config | receivers per row | flat out: delivered msg/s | rows/s | server CPU µs/row | µs/msg | policy evaluations/row | lag / unaccounted / gaps / out of order / not theirs | other processes (cores) | rate {rate:0}/s: p50 | p99 | unaccounted / not theirs |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PolicyRow r in rows)
        {
            PassResult f = r.Flat;
            string paced = r.Paced is null ? "| | |" : $"| {LatencySummary.Format(r.Paced.Latency.P50)} | {LatencySummary.Format(r.Paced.Latency.P99)} | {r.Paced.Unaccounted:N0} / {r.Paced.Foreign:N0} |";
            sb.AppendLine(s_c, $"| {r.Round} | {r.Config.Label} | {r.Connections / r.Config.Share:N0} | {f.DeliveredPerSecond:N0} | {r.ChangesPerSecond:N0} | {r.CpuPerChangeUs:0.0} | {f.ServerCpuPerMessageUs:0.00} | {r.EvaluationsPerChange:0.0} | "
                + $"{f.Lagged:N0} / {f.Unaccounted:N0} / {f.Gaps:N0} / {f.OutOfOrder:N0} / {f.Foreign:N0} | {f.OtherCores:0.00} {paced}");
        }

        sb.AppendLine();
        sb.Append("Configs (mode/tenants): none = no row policy, every subscriber gets every row; open = `tenant_id = claims.tenant_id OR visibility = 'public'` on public rows (evaluated per tenant group, every row still reaches everyone); "
            + "tenant = `tenant_id = claims.tenant_id`, rows round-robin over the tenants, each to its tenant's subscribers; filter = no policy, each subscriber's own postgres_changes filter `tenant_id=eq.<its tenant>` (the same deliveries as tenant, without auth). ");
        sb.Append(s_c, $"Flat out: as fast as the server delivers, with the average backlog under {LoadPublisher.FlatOutWindow} rows per subscriber; the same number of deliveries per pass in every config. ");
        sb.AppendLine(s_c, $"Latency: {rate:0} rows/s for {latencySeconds:0} s, commit-to-receive on the machine's monotonic clock. Every subscriber must get exactly its share, in order, and nothing else (not theirs = another tenant's row).");
        sb.AppendLine();
        sb.Append(Verdicts(rows, tenants));
        sb.AppendLine();
        sb.Append(Groups(rows, tenants));
        return sb.ToString();
    }

    public static string Chart(List<PolicyRow> rows, int tenants)
    {
        var main = rows.Where(r => r.Config.Tenants == tenants).GroupBy(r => r.Config.Mode).ToList();
        string category = string.Create(s_c, $"{(rows.Count == 0 ? 0 : rows[0].Connections):N0} subscribers, {tenants} tenants");
        var delivered = main.Select(g => (category, g.Key, Median(g.Select(r => r.Flat.DeliveredPerSecond)))).ToList();
        var perRow = main.Select(g => (category, g.Key, Median(g.Select(r => r.CpuPerChangeUs)))).ToList();
        var p99 = main.Where(g => g.All(r => r.Paced is not null)).Select(g => (category, g.Key, Median(g.Select(r => r.Paced!.Latency.P99 / 1000.0)))).ToList();
        return BarChart.Render(
            "Row policies at fan-out (medians over rounds; nothing lost, no row to another tenant)",
            new BarChart.Panel("Delivered messages/s (flat out)", BarChart.Number, delivered),
            new BarChart.Panel("Server CPU µs per row (flat out)", BarChart.Number, perRow),
            new BarChart.Panel("p99 commit→receive latency, ms", BarChart.Number, p99));
    }

    /// <summary>Cost per row against the number of policy groups (the open policy at every tenant count), log-log.</summary>
    public static string GroupsChart(List<PolicyRow> rows)
    {
        var open = rows.Where(r => r.Config.Mode == "open").GroupBy(r => r.Config.Tenants).OrderBy(g => g.Key).ToList();
        var none = rows.Where(r => r.Config.Mode == "none").Select(r => r.CpuPerChangeUs).ToList();
        var lines = new List<LineChart.Series>
        {
            new("open policy", "#d9480f", open.Select(g => ((double)g.Key, Median(g.Select(r => r.CpuPerChangeUs)))).ToList()),
        };
        if (none.Count > 0 && open.Count > 0)
        {
            double baseline = Median(none);
            lines.Add(new LineChart.Series("no policy", "#868e96", open.Select(g => ((double)g.Key, baseline)).ToList()));
        }

        var evaluations = new List<LineChart.Series>
        {
            new("evaluations per row", "#1c7ed6", open.Select(g => ((double)g.Key, Median(g.Select(r => r.EvaluationsPerChange)))).ToList()),
        };
        return LineChart.Render(
            "Row step cost vs policy groups (1,000 subscribers, every row to everyone)",
            new LineChart.Panel("Server CPU µs per row", "policy groups", BarChart.Number, lines),
            new LineChart.Panel("Policy evaluations per row", "policy groups", BarChart.Number, evaluations));
    }

    private static string Verdicts(List<PolicyRow> rows, int tenants)
    {
        var sb = new StringBuilder();
        double Delivered(string mode) => Median(rows.Where(r => r.Config.Mode == mode && r.Config.Tenants == tenants).Select(r => r.Flat.DeliveredPerSecond));
        double Rows(string mode) => Median(rows.Where(r => r.Config.Mode == mode && r.Config.Tenants == tenants).Select(r => r.ChangesPerSecond));
        double none = Delivered("none"), open = Delivered("open"), tenant = Delivered("tenant"), filter = Delivered("filter");
        sb.AppendLine("Issue 12's target (delivered msg/s under a tenant row policy ≥ 0.8× the same run with no policy), medians over rounds:");
        sb.AppendLine();
        if (none > 0 && open > 0)
        {
            sb.AppendLine(s_c, $"- same deliveries, policy evaluated per group (open/{tenants} vs none/{tenants}): {open:N0} vs {none:N0} msg/s = {open / none:0.00}× (target ≥ 0.8: {(open / none >= 0.8 ? "met" : "MISSED")})");
        }

        if (none > 0 && tenant > 0)
        {
            sb.AppendLine(s_c, $"- tenant policy, each row to its tenant's {rows[0].Connections / tenants:N0} subscribers (tenant/{tenants} vs none/{tenants}): {tenant:N0} vs {none:N0} msg/s = {tenant / none:0.00}× (target ≥ 0.8: {(tenant / none >= 0.8 ? "met" : "MISSED")}); rows/s {Rows("tenant"):N0} vs {Rows("none"):N0}");
        }

        if (filter > 0 && tenant > 0)
        {
            sb.AppendLine(s_c, $"- the same deliveries without auth, by per-subscriber filters (tenant/{tenants} vs filter/{tenants}): {tenant:N0} vs {filter:N0} msg/s = {tenant / filter:0.00}×");
        }

        sb.AppendLine(s_c, $"- nothing lost, nothing reordered, no row to another tenant, every client still open: {(rows.All(r => r.NothingLost) ? "yes" : "NO")}");
        return sb.ToString();
    }

    private static string Groups(List<PolicyRow> rows, int tenants)
    {
        var sb = new StringBuilder();
        sb.AppendLine("Cost per row against the number of policy groups (the open policy, every row to every subscriber; medians over rounds):");
        sb.AppendLine();
        sb.AppendLine("| policy groups | server CPU µs/row | policy evaluations/row | delivered msg/s |");
        sb.AppendLine("|---:|---:|---:|---:|");
        foreach (PolicyRow[] g in rows.Where(r => r.Config.Mode is "open" or "none").GroupBy(r => r.Config).OrderBy(g => g.Key.Mode == "none" ? 0 : 1).ThenBy(g => g.Key.Tenants).Select(g => g.ToArray()))
        {
            string label = g[0].Config.Mode == "none" ? $"no policy ({tenants} tenants)" : g[0].Config.Tenants.ToString("N0", s_c);
            sb.AppendLine(s_c, $"| {label} | {Median(g.Select(r => r.CpuPerChangeUs)):0.0} | {Median(g.Select(r => r.EvaluationsPerChange)):0.0} | {Median(g.Select(r => r.Flat.DeliveredPerSecond)):N0} |");
        }

        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
