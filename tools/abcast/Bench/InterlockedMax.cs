namespace AtomicBcast.Cli.Bench;

/// <summary>A lock-free running maximum, for figures that several publisher loops raise at once.</summary>
internal static class InterlockedMax
{
    public static void Raise(ref long location, long value)
    {
        long seen = Volatile.Read(ref location);
        while (value > seen)
        {
            long was = Interlocked.CompareExchange(ref location, value, seen);
            if (was == seen) return;
            seen = was;
        }
    }
}
