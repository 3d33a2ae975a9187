using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Running;

/// <summary>The outcome of one run: a control passes when the checker flags lost acknowledged messages, any other run when it flags nothing.</summary>
internal sealed record RunResult(string Scenario, int Seed, bool IsControl, bool Passed, IReadOnlyList<Verdict> Verdicts,
    AvailabilityReport Availability, RunHistory History, string DeliveredPositions, IReadOnlyList<string> Notes);
