namespace AtomicBcast.Storage;

/// <summary>A read asked for an instance below the trim floor.</summary>
public sealed class LogTrimmedException(ulong instance, ulong earliestRetainedInstance)
    : InvalidOperationException($"instance {instance} was trimmed from the log; the earliest retained instance is {earliestRetainedInstance}")
{
    public ulong Instance { get; } = instance;
    public ulong EarliestRetainedInstance { get; } = earliestRetainedInstance;
}
