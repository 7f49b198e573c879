using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>Panels of lines on log-log axes (x: a count such as members, y: a measure): used by the presence scenario.</summary>
internal static class LineChart
{
    private const int PanelWidth = 420;
    private const int PanelHeight = 280;
    private const int Margin = 70;

    /// <summary>One line: a name, a colour and its points.</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

    /// <summary>One panel: a title, the x axis label, a value format and its lines.</summary>
    public sealed record Panel(string Title, string XLabel, Func<double, string> Format, IReadOnlyList<Series> Lines);

    public static string Render(string caption, params Panel[] panels)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        int width = (panels.Length * (PanelWidth + Margin)) + Margin;
        int height = PanelHeight + (2 * Margin) + 40;
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"{Margin}\" y=\"20\">{caption}</text>\n");
        for (int i = 0; i < panels.Length; i++)
        {
            Draw(sb, Margin + (i * (PanelWidth + Margin)), panels[i]);
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Draw(StringBuilder sb, int left, Panel panel)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        int top = Margin, bottom = top + PanelHeight;
        (double X, double Y)[] all = [.. panel.Lines.SelectMany(l => l.Points).Where(p => p.X > 0 && p.Y > 0)];
        double xLow = Math.Pow(10, Math.Floor(Math.Log10(all.Min(p => p.X)))), xHigh = Math.Pow(10, Math.Ceiling(Math.Log10(all.Max(p => p.X))));
        double yLow = Math.Pow(10, Math.Floor(Math.Log10(all.Min(p => p.Y)))), yHigh = Math.Pow(10, Math.Ceiling(Math.Log10(all.Max(p => p.Y))));
        xHigh = xHigh <= xLow ? xLow * 10 : xHigh;
        yHigh = yHigh <= yLow ? yLow * 10 : yHigh;
        double X(double v) => left + ((Math.Log10(v) - Math.Log10(xLow)) / (Math.Log10(xHigh) - Math.Log10(xLow)) * PanelWidth);
        double Y(double v) => bottom - ((Math.Log10(v) - Math.Log10(yLow)) / (Math.Log10(yHigh) - Math.Log10(yLow)) * PanelHeight);

        sb.Append(c, $"<text x=\"{left}\" y=\"{top - 12}\" font-weight=\"bold\">{panel.Title}</text>\n");
        sb.Append(c, $"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#ccc\"/>\n");
        for (double t = yLow; t <= yHigh * 1.001; t *= 10)
        {
            sb.Append(c, $"<line x1=\"{left}\" x2=\"{left + PanelWidth}\" y1=\"{Y(t):0.0}\" y2=\"{Y(t):0.0}\" stroke=\"#eee\"/><text x=\"{left - 6}\" y=\"{Y(t) + 4:0.0}\" text-anchor=\"end\">{panel.Format(t)}</text>\n");
        }

        for (double t = xLow; t <= xHigh * 1.001; t *= 10)
        {
            sb.Append(c, $"<text x=\"{X(t):0.0}\" y=\"{bottom + 16}\" text-anchor=\"middle\">{t:N0}</text>\n");
        }

        sb.Append(c, $"<text x=\"{left + (PanelWidth / 2)}\" y=\"{bottom + 34}\" text-anchor=\"middle\">{panel.XLabel}</text>\n");
        int legendY = top + 16;
        foreach (Series line in panel.Lines)
        {
            string points = string.Join(' ', line.Points.Where(p => p.X > 0 && p.Y > 0).Select(p => string.Create(c, $"{X(p.X):0.0},{Y(p.Y):0.0}")));
            sb.Append(c, $"<polyline points=\"{points}\" fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"2\"/>\n");
            foreach ((double px, double py) in line.Points.Where(p => p.X > 0 && p.Y > 0))
            {
                sb.Append(c, $"<circle cx=\"{X(px):0.0}\" cy=\"{Y(py):0.0}\" r=\"3\" fill=\"{line.Color}\"><title>{line.Name} at {px:N0}: {panel.Format(py)}</title></circle>\n");
            }

            sb.Append(c, $"<rect x=\"{left + 10}\" y=\"{legendY - 8}\" width=\"14\" height=\"4\" fill=\"{line.Color}\"/><text x=\"{left + 30}\" y=\"{legendY - 3}\">{line.Name}</text>\n");
            legendY += 16;
        }
    }
}
