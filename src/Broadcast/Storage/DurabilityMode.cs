namespace AtomicBcast.Storage;

/// <summary>When the log tells an appender its record is durable.</summary>
public enum DurabilityMode
{
    /// <summary>After the write and an <c>fdatasync</c> that succeeded. The only safe mode, and the default.</summary>
    Sync = 0,

    /// <summary>
    /// UNSAFE: after the write to the page cache only, with no <c>fdatasync</c>. A power loss or kernel crash loses
    /// acknowledged records, which breaks Paxos. For benchmarks that want to measure everything but the disk.
    /// </summary>
    UnsafeNoSync = 1,
}
