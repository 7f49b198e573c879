using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>Two panels, connection count on a log axis: flat-out delivered messages per second, and p99 latency at the fixed rate.</summary>
internal static class SvgChart
{
    private const int PanelWidth = 420;
    private const int PanelHeight = 300;
    private const int Margin = 60;

    private static readonly Dictionary<string, string> s_colors = new(StringComparer.Ordinal)
    {
        ["helios"] = "#d9480f",
        ["signalr"] = "#1c7ed6",
        ["raw"] = "#868e96",
        ["ring"] = "#2b8a3e",
    };

    public static string Render(IReadOnlyList<BenchRow> rows, double rate)
    {
        var sb = new StringBuilder();
        int width = (2 * (PanelWidth + Margin)) + Margin;
        int height = PanelHeight + (2 * Margin) + 30;
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        int[] xs = [.. rows.Select(r => r.Connections).Distinct().Order()];
        Panel(sb, Margin, "Delivered messages/s (flat out)", xs, rows, r => r.Flat.DeliveredPerSecond, logY: false, Number);
        Panel(sb, (2 * Margin) + PanelWidth, string.Create(CultureInfo.InvariantCulture, $"p99 notify→receive latency, ms (at {rate:0}/s)"), xs, rows, r => r.Paced.Latency.P99 / 1000.0, logY: true, Number);

        int lx = Margin;
        foreach (string target in rows.Select(r => r.Target).Distinct())
        {
            string color = s_colors.GetValueOrDefault(target, "#000");
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{lx}\" y=\"{height - 22}\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{lx + 20}\" y=\"{height - 16}\">{target}</text>\n");
            lx += 100;
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Panel(StringBuilder sb, int left, string title, int[] xs, IReadOnlyList<BenchRow> rows, Func<BenchRow, double> value, bool logY, Func<double, string> format)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        int top = Margin, bottom = Margin + PanelHeight;
        double[] values = [.. rows.Select(value).Where(v => v > 0)];
        double max = values.Length == 0 ? 1 : values.Max();
        double min = values.Length == 0 ? 1 : values.Min();
        double yLow = logY ? Math.Pow(10, Math.Floor(Math.Log10(min))) : 0;
        double yHigh = logY ? Math.Pow(10, Math.Ceiling(Math.Log10(max))) : max * 1.1;
        if (yHigh <= yLow)
        {
            yHigh = yLow * 10;
        }

        double Y(double v)
        {
            double f = logY ? (Math.Log10(Math.Max(v, yLow)) - Math.Log10(yLow)) / (Math.Log10(yHigh) - Math.Log10(yLow)) : v / yHigh;
            return bottom - (f * PanelHeight);
        }

        double xMin = Math.Log10(Math.Max(1, xs.Min())), xMax = Math.Log10(Math.Max(10, xs.Max()));
        double X(int n) => left + (xMax == xMin ? PanelWidth / 2.0 : (Math.Log10(Math.Max(1, n)) - xMin) / (xMax - xMin) * PanelWidth);

        sb.Append(c, $"<text x=\"{left}\" y=\"{top - 20}\" font-weight=\"bold\">{title}</text>\n");
        sb.Append(c, $"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#ccc\"/>\n");
        double[] ticks = logY
            ? [.. Enumerable.Range(0, (int)Math.Round(Math.Log10(yHigh / yLow)) + 1).Select(i => yLow * Math.Pow(10, i))]
            : [.. Enumerable.Range(0, 6).Select(i => yHigh * i / 5)];
        foreach (double t in ticks)
        {
            sb.Append(c, $"<line x1=\"{left}\" x2=\"{left + PanelWidth}\" y1=\"{Y(t):0.0}\" y2=\"{Y(t):0.0}\" stroke=\"#eee\"/><text x=\"{left - 6}\" y=\"{Y(t) + 4:0.0}\" text-anchor=\"end\">{format(t)}</text>\n");
        }

        foreach (int n in xs)
        {
            sb.Append(c, $"<text x=\"{X(n):0.0}\" y=\"{bottom + 16}\" text-anchor=\"middle\">{n:N0}</text>\n");
        }

        sb.Append(c, $"<text x=\"{left + (PanelWidth / 2)}\" y=\"{bottom + 34}\" text-anchor=\"middle\">connections</text>\n");
        foreach (IGrouping<string, BenchRow> g in rows.GroupBy(r => r.Target))
        {
            string color = s_colors.GetValueOrDefault(g.Key, "#000");
            string points = string.Join(' ', g.OrderBy(r => r.Connections).Where(r => value(r) > 0).Select(r => string.Create(c, $"{X(r.Connections):0.0},{Y(value(r)):0.0}")));
            sb.Append(c, $"<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n");
            foreach (BenchRow r in g.Where(r => value(r) > 0))
            {
                sb.Append(c, $"<circle cx=\"{X(r.Connections):0.0}\" cy=\"{Y(value(r)):0.0}\" r=\"3\" fill=\"{color}\"><title>{g.Key} {r.Connections}: {format(value(r))}</title></circle>\n");
            }
        }
    }

    private static string Number(double v) => v switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{v / 1_000_000:0.#}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{v / 1_000:0.#}k"),
        >= 1 => string.Create(CultureInfo.InvariantCulture, $"{v:0.#}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{v:0.###}"),
    };
}
