namespace AtomicBcast.Transport;

/// <summary>
/// Capped exponential backoff with equal jitter: attempt n waits between half and all of
/// min(Max, Initial * Multiplier^n). The fixed half keeps a dead peer from being hammered; the random half
/// spreads out members that lost the same peer at the same moment.
/// </summary>
public readonly record struct BackoffPolicy(TimeSpan Initial, TimeSpan Max, double Multiplier = 2.0)
{
    public static BackoffPolicy Default => new(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5));

    /// <summary>Delay before retry number <paramref name="attempt"/> (0-based). Not thread-safe: <paramref name="random"/> is the caller's.</summary>
    public TimeSpan Delay(int attempt, Random random)
    {
        double cappedTicks = Math.Min(Max.Ticks, Initial.Ticks * Math.Pow(Multiplier, Math.Clamp(attempt, 0, 62)));
        double half = cappedTicks / 2;
        return TimeSpan.FromTicks((long)(half + random.NextDouble() * half));
    }
}
