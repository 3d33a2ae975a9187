namespace AtomicBcast.Storage;

/// <summary>
/// A byte address in the log: <c>segmentIndex * segmentBytes + offsetInSegment</c>. Addresses only grow;
/// a record's address is where it starts, and it is durable once <see cref="GroupCommitLog.DurableUntil"/>
/// is above it (flushes carry whole records only).
/// </summary>
public readonly record struct LogAddress(ulong Value) : IComparable<LogAddress>
{
    public static readonly LogAddress Zero = default;

    public int CompareTo(LogAddress other) => Value.CompareTo(other.Value);
    public static bool operator <(LogAddress a, LogAddress b) => a.Value < b.Value;
    public static bool operator >(LogAddress a, LogAddress b) => a.Value > b.Value;
    public static bool operator <=(LogAddress a, LogAddress b) => a.Value <= b.Value;
    public static bool operator >=(LogAddress a, LogAddress b) => a.Value >= b.Value;

    public override string ToString() => Value.ToString();
}
