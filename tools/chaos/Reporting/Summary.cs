using System.Text.Json;
using AtomicBcast.Chaos.History;
using AtomicBcast.Chaos.Running;

namespace AtomicBcast.Chaos.Reporting;

/// <summary>The machine-readable result of one run (result.json), which the sweep summary aggregates.</summary>
internal sealed record Summary(string Scenario, int Seed, bool Control, bool Passed, string[] Violated, FaultSummary[] Faults,
    double BeforePerSecond, double DuringPerSecond, double AfterPerSecond, int Publishes, int Acked)
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static Summary Of(RunResult r) => new(r.Scenario, r.Seed, r.IsControl, r.Passed,
        r.Verdicts.Where(v => !v.Ok).Select(v => v.Property).ToArray(),
        r.Availability.Outages.Select(o => new FaultSummary(o.Fault.Kind, o.Fault.Targets, o.Fault.StartMs, o.Fault.EndMs, o.OutageMs)).ToArray(),
        r.Availability.BeforePerSecond, r.Availability.DuringPerSecond, r.Availability.AfterPerSecond,
        r.History.Publishes.Count, r.History.Publishes.Count(p => p.Outcome is Outcome.Acked or Outcome.AckedNoPosition));
}

/// <summary>One fault in result.json: kind, targets, start, heal, and how long commits stopped after it.</summary>
internal sealed record FaultSummary(string Kind, string Targets, long StartMs, long EndMs, long OutageMs);
