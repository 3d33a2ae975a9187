using System.Globalization;
using System.Net;
using System.Text;
using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Reporting;

/// <summary>The run's timeline as an SVG: commits per 100 ms as bars, each fault a shaded band with its label, the heal and the stop as lines.</summary>
internal static class Timeline
{
    private const int Width = 1200, Height = 360, Left = 60, Right = 20, Top = 40, Bottom = 50;

    public static void Write(string path, string scenario, int seed, RunHistory history, AvailabilityReport availability) =>
        File.WriteAllText(path, Render(scenario, seed, history, availability));

    public static string Render(string scenario, int seed, RunHistory history, AvailabilityReport availability)
    {
        var ci = CultureInfo.InvariantCulture;
        var buckets = availability.CommitsPer100Ms;
        long spanMs = Math.Max(1, buckets.Count * (long)AvailabilityReport.BucketMs);
        int max = ScaleMax(buckets);
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(long ms) => Left + plotW * ms / spanMs;
        double Y(double v) => Top + plotH * (1 - v / max);
        var sb = new StringBuilder();
        sb.AppendLine(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine(ci, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        sb.AppendLine(ci, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\">{Esc(scenario)}, seed {seed}: commits per 100 ms (faults shaded)</text>");
        int lane = 0;
        foreach (var f in history.Faults.OrderBy(f => f.StartMs))
        {
            double x0 = X(f.StartMs), x1 = Math.Max(X(f.EndMs), x0 + 2);
            sb.AppendLine(ci, $"<rect x=\"{x0:0.#}\" y=\"{Top}\" width=\"{x1 - x0:0.#}\" height=\"{plotH:0.#}\" fill=\"#e4572e\" fill-opacity=\"0.18\"/>");
            sb.AppendLine(ci, $"<text x=\"{x0 + 2:0.#}\" y=\"{Top + 12 + 12 * (lane++ % 3)}\" fill=\"#a0301a\">{Esc(f.Kind)} {Esc(f.Targets)}</text>");
        }
        double barW = Math.Max(0.5, plotW / Math.Max(1, buckets.Count));
        for (int i = 0; i < buckets.Count; i++)
        {
            if (buckets[i] == 0) continue;
            int shown = Math.Min(buckets[i], max);
            double x = X(i * (long)AvailabilityReport.BucketMs);
            sb.AppendLine(ci, $"<rect x=\"{x:0.##}\" y=\"{Y(shown):0.#}\" width=\"{barW:0.##}\" height=\"{Top + plotH - Y(shown):0.#}\" fill=\"{(shown < buckets[i] ? "#12435a" : "#2e86ab")}\"/>");
            if (shown < buckets[i]) // a burst after an outage (retries acknowledged at once): clipped, its value written
                sb.AppendLine(ci, $"<text x=\"{x + 3:0.#}\" y=\"{Top + 60}\" fill=\"#12435a\">{buckets[i]}</text>");
        }
        Marker(sb, X(history.Phases.HealMs), "heal", "#2a9d3a", "start");
        Marker(sb, X(history.Phases.PublishStopMs), "stop publishing", "#555555", "end");
        sb.AppendLine(ci, $"<line x1=\"{Left}\" y1=\"{Top + plotH}\" x2=\"{Left + plotW}\" y2=\"{Top + plotH}\" stroke=\"black\"/>");
        sb.AppendLine(ci, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotH}\" stroke=\"black\"/>");
        sb.AppendLine(ci, $"<text x=\"{Left - 6}\" y=\"{Top + 4}\" text-anchor=\"end\">{max}</text>");
        sb.AppendLine(ci, $"<text x=\"{Left - 6}\" y=\"{Top + plotH}\" text-anchor=\"end\">0</text>");
        for (long s = 0; s * 1000 <= spanMs; s += 5)
            sb.AppendLine(ci, $"<text x=\"{X(s * 1000):0.#}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{s} s</text>");
        sb.AppendLine(ci, $"<text x=\"{Left}\" y=\"{Height - 10}\">before {availability.BeforePerSecond:0}/s, during faults {availability.DuringPerSecond:0}/s, after heal {availability.AfterPerSecond:0}/s</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    /// <summary>Three times the median non-empty bucket, so one burst after an outage does not flatten the rest (clipped bars say their value).</summary>
    private static int ScaleMax(IReadOnlyList<int> buckets)
    {
        var nonEmpty = buckets.Where(b => b > 0).Order().ToArray();
        if (nonEmpty.Length == 0) return 1;
        return Math.Max(1, Math.Min(nonEmpty[^1], 3 * nonEmpty[nonEmpty.Length / 2]));
    }

    private static void Marker(StringBuilder sb, double x, string label, string color, string anchor)
    {
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"<line x1=\"{x:0.#}\" y1=\"{Top}\" x2=\"{x:0.#}\" y2=\"{Height - Bottom}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/>");
        sb.AppendLine(ci, $"<text x=\"{x + (anchor == "end" ? -3 : 3):0.#}\" y=\"{Top - 4}\" text-anchor=\"{anchor}\" fill=\"{color}\">{label}</text>");
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
