namespace AtomicBcast.Tests;

/// <summary>
/// Tests that measure allocations or the managed heap run alone: a full GC forced by one (or by a parallel test) trims
/// ArrayPool.Shared, so another's "allocates nothing" would see the pool refill, and heap bounds would count other
/// tests' garbage.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurements";
}
