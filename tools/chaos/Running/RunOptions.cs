namespace AtomicBcast.Chaos.Running;

/// <summary>What one scenario run needs: which, seed, how long, where the abcast binary is, where to write.</summary>
internal sealed record RunOptions(Scenario Scenario, int Seed, int DurationSeconds, string Abcast, string OutDir,
    int Publishers = 3, int PerSecond = 200);
