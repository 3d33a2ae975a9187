using System.Globalization;
using System.Text;
using System.Text.Json;
using AtomicBcast.Chaos.History;
using AtomicBcast.Chaos.Running;

namespace AtomicBcast.Chaos.Reporting;

/// <summary>
/// A run's short report: report.md for a person (scenario, seed, faults with times, verdicts, availability) and
/// result.json for the sweep summary.
/// </summary>
internal static class RunReport
{
    public static void Write(string dir, Scenario scenario, RunResult r)
    {
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(scenario, r));
        File.WriteAllText(Path.Combine(dir, "result.json"), JsonSerializer.Serialize(Summary.Of(r), Summary.Json));
    }

    private static string Markdown(Scenario scenario, RunResult r)
    {
        var ci = CultureInfo.InvariantCulture;
        var h = r.History;
        var a = r.Availability;
        var sb = new StringBuilder();
        sb.AppendLine(ci, $"# chaos run: {r.Scenario}, seed {r.Seed}: {(r.Passed ? "PASS" : "FAIL")}");
        sb.AppendLine();
        sb.AppendLine(ci, $"{scenario.Description}. {scenario.Members} members{(scenario.UnsafeNoSync ? ", UNSAFE no-sync (negative control: it passes when the checker flags lost acknowledged messages)" : "")}.");
        sb.AppendLine();
        var ph = h.Phases;
        sb.AppendLine(ci, $"Phases (ms since start): publishing from {ph.PublishStartMs}, faults from {ph.FaultsStartMs}, heal at {ph.HealMs}, publishing stopped at {ph.PublishStopMs}, end {ph.EndMs}.");
        int acked = h.Publishes.Count(p => p.Outcome == Outcome.Acked), noPos = h.Publishes.Count(p => p.Outcome == Outcome.AckedNoPosition);
        int unknown = h.Publishes.Count(p => p.Outcome == Outcome.Unknown), failed = h.Publishes.Count(p => p.Outcome == Outcome.Failed);
        sb.AppendLine(ci, $"Publishes: {h.Publishes.Count} ({acked} acked with position, {noPos} acked without, {unknown} unknown, {failed} failed).");
        sb.AppendLine(ci, $"Streams: {string.Join(", ", h.Streams.Select(s => $"{s.Name} [{s.From}, {s.End})"))}. Members' delivered positions at the end: {r.DeliveredPositions}.");
        sb.AppendLine();
        sb.AppendLine("## Faults");
        sb.AppendLine("| kind | targets | start ms | healed ms | commits stopped for (ms) | note |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var o in a.Outages)
            sb.AppendLine(ci, $"| {o.Fault.Kind} | {o.Fault.Targets} | {o.Fault.StartMs} | {o.Fault.EndMs} | {o.OutageMs} | {o.Fault.Note} |");
        sb.AppendLine();
        sb.AppendLine("## Verdicts");
        foreach (var v in r.Verdicts)
        {
            sb.AppendLine(ci, $"- {v.Property}: {(v.Ok ? "ok" : $"VIOLATED ({v.Violations})")}");
            foreach (var e in v.Examples) sb.AppendLine(ci, $"  - {e}");
        }
        if (r.Notes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Notes (not violations)");
            foreach (var n in r.Notes) sb.AppendLine(ci, $"- {n}");
        }
        sb.AppendLine();
        sb.AppendLine("## Availability");
        sb.AppendLine(ci, $"Commits (acknowledgements) per second: before the faults {a.BeforePerSecond:0}, during {a.DuringPerSecond:0}, after the heal {a.AfterPerSecond:0}.");
        sb.AppendLine("Timeline: timeline.svg (commits per 100 ms, faults shaded).");
        return sb.ToString();
    }
}
