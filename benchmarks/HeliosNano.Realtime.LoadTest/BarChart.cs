using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// Side-by-side bars for one run: one panel per measure, one group of bars per category (e.g. a connection count),
/// one bar per target, each bar labelled with its value. Used by the broadcast scenario.
/// </summary>
internal static class BarChart
{
    private const int PanelWidth = 420;
    private const int PanelHeight = 280;
    private const int Margin = 60;

    private static readonly Dictionary<string, string> s_colors = new(StringComparer.Ordinal)
    {
        ["helios"] = "#d9480f",
        ["helios-push"] = "#f08c00",
        ["signalr"] = "#1c7ed6",
        ["raw"] = "#868e96",
        ["none"] = "#868e96",
        ["open"] = "#f08c00",
        ["tenant"] = "#d9480f",
        ["filter"] = "#1c7ed6",
        ["1 node"] = "#868e96",
        ["1 node + Redis"] = "#1c7ed6",
        ["cluster"] = "#d9480f",
        ["cluster: writer's node"] = "#f08c00",
        ["cluster: other node"] = "#d9480f",
    };

    /// <summary>One panel: a title, a value format and the values by (category, target).</summary>
    public sealed record Panel(string Title, Func<double, string> Format, IReadOnlyList<(string Category, string Target, double Value)> Values);

    public static string Render(string caption, params Panel[] panels)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        int width = (panels.Length * (PanelWidth + Margin)) + Margin;
        int height = PanelHeight + (2 * Margin) + 50;
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"{Margin}\" y=\"20\">{Escape(caption)}</text>\n");
        for (int i = 0; i < panels.Length; i++)
        {
            Draw(sb, Margin + (i * (PanelWidth + Margin)), panels[i]);
        }

        int lx = Margin;
        foreach (string target in panels.SelectMany(p => p.Values).Select(v => v.Target).Distinct())
        {
            sb.Append(c, $"<rect x=\"{lx}\" y=\"{height - 22}\" width=\"14\" height=\"10\" fill=\"{Color(target)}\"/><text x=\"{lx + 20}\" y=\"{height - 13}\">{Escape(target)}</text>\n");
            lx += Math.Max(110, 30 + (7 * target.Length));
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Draw(StringBuilder sb, int left, Panel panel)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        int top = Margin + 10, bottom = top + PanelHeight;
        double max = panel.Values.Select(v => v.Value).DefaultIfEmpty(1).Max() * 1.15;
        max = max <= 0 ? 1 : max;
        sb.Append(c, $"<text x=\"{left}\" y=\"{top - 12}\" font-weight=\"bold\">{Escape(panel.Title)}</text>\n");
        sb.Append(c, $"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#ccc\"/>\n");
        for (int t = 0; t <= 5; t++)
        {
            double v = max * t / 5;
            double y = bottom - (PanelHeight * t / 5.0);
            sb.Append(c, $"<line x1=\"{left}\" x2=\"{left + PanelWidth}\" y1=\"{y:0.0}\" y2=\"{y:0.0}\" stroke=\"#eee\"/><text x=\"{left - 6}\" y=\"{y + 4:0.0}\" text-anchor=\"end\">{panel.Format(v)}</text>\n");
        }

        string[] categories = [.. panel.Values.Select(v => v.Category).Distinct()];
        double groupWidth = PanelWidth / (double)Math.Max(1, categories.Length);
        for (int g = 0; g < categories.Length; g++)
        {
            var bars = panel.Values.Where(v => v.Category == categories[g]).ToList();
            double barWidth = (groupWidth * 0.8) / Math.Max(1, bars.Count);
            double x0 = left + (g * groupWidth) + (groupWidth * 0.1);
            for (int b = 0; b < bars.Count; b++)
            {
                double h = PanelHeight * bars[b].Value / max;
                double x = x0 + (b * barWidth);
                sb.Append(c, $"<rect x=\"{x:0.0}\" y=\"{bottom - h:0.0}\" width=\"{barWidth * 0.9:0.0}\" height=\"{h:0.0}\" fill=\"{Color(bars[b].Target)}\"><title>{Escape(bars[b].Target)}: {panel.Format(bars[b].Value)}</title></rect>\n");
                sb.Append(c, $"<text x=\"{x + (barWidth * 0.45):0.0}\" y=\"{bottom - h - 4:0.0}\" text-anchor=\"middle\" font-size=\"11\">{panel.Format(bars[b].Value)}</text>\n");
            }

            sb.Append(c, $"<text x=\"{left + ((g + 0.5) * groupWidth):0.0}\" y=\"{bottom + 16}\" text-anchor=\"middle\">{Escape(categories[g])}</text>\n");
        }
    }

    private static string Color(string target) => s_colors.GetValueOrDefault(target, "#495057");

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    public static string Number(double v) => v switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{v / 1_000_000:0.##}M"),
        >= 10_000 => string.Create(CultureInfo.InvariantCulture, $"{v / 1_000:0}k"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{v / 1_000:0.#}k"),
        >= 1 => string.Create(CultureInfo.InvariantCulture, $"{v:0.#}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{v:0.###}"),
    };
}
