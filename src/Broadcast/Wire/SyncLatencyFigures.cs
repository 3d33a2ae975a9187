using System.Runtime.CompilerServices;

namespace AtomicBcast.Wire;

/// <summary>
/// How long a member's log syncs (<c>fdatasync</c>) took since the member started: a count per power-of-two bucket and
/// the slowest. A benchmark subtracts two readings to get the syncs of its window. Every durable acknowledgement waits for
/// a sync on a majority, so this is the disk's share of the publish latency (etcd's wal_fsync_duration, in the status reply).
/// </summary>
/// <param name="Counts">Syncs per bucket: bucket k holds durations below <see cref="UpperBoundMicros"/>(k), above the
/// previous bucket's bound.</param>
/// <param name="SlowestMicros">The slowest sync since the start; -1 when unknown (a member that predates these figures).</param>
public readonly record struct SyncLatencyFigures(SyncLatencyCounts Counts, long SlowestMicros)
{
    public const int Buckets = SyncLatencyCounts.Length;

    /// <summary>The first bucket's upper bound; each next bucket doubles it.</summary>
    public const long FirstBoundMicros = 64;

    public static readonly SyncLatencyFigures Unknown = new(default, -1);

    public bool IsKnown => SlowestMicros >= 0;

    /// <summary>The exclusive upper bound of <paramref name="bucket"/>; the last bucket has none.</summary>
    public static long UpperBoundMicros(int bucket) => bucket >= Buckets - 1 ? long.MaxValue : FirstBoundMicros << bucket;

    /// <summary>The bucket a sync of <paramref name="micros"/> belongs to.</summary>
    public static int BucketOf(long micros)
    {
        int bucket = 0;
        while (bucket < Buckets - 1 && micros >= UpperBoundMicros(bucket)) bucket++;
        return bucket;
    }

    public long Total
    {
        get
        {
            long total = 0;
            foreach (long count in Counts) total += count;
            return total;
        }
    }

    /// <summary>The syncs between an earlier reading and this one (the slowest stays this reading's, since the start).</summary>
    public SyncLatencyFigures Since(in SyncLatencyFigures earlier)
    {
        var counts = new SyncLatencyCounts();
        for (int k = 0; k < Buckets; k++) counts[k] = Counts[k] - earlier.Counts[k];
        return new SyncLatencyFigures(counts, SlowestMicros);
    }

    /// <summary>
    /// The upper bound, in microseconds, of the bucket holding the <paramref name="percentile"/>-th sync (so the true value
    /// is at most this, and above half of it); -1 when there are no syncs; long.MaxValue in the last, open bucket.
    /// </summary>
    public long PercentileBoundMicros(double percentile)
    {
        long total = Total;
        if (total <= 0) return -1;
        long rank = Math.Max(1, (long)Math.Ceiling(total * percentile / 100.0));
        long seen = 0;
        for (int k = 0; k < Buckets; k++)
        {
            seen += Counts[k];
            if (seen >= rank) return UpperBoundMicros(k);
        }
        return UpperBoundMicros(Buckets - 1);
    }
}

/// <summary>The sync counts of <see cref="SyncLatencyFigures"/>, one per bucket (a fixed-size value, compared by value).</summary>
[InlineArray(Length)]
public struct SyncLatencyCounts : IEquatable<SyncLatencyCounts>
{
    public const int Length = 16;
    private long _element0;

    // An inline array has no built-in equality: compare the counts.
    public readonly bool Equals(SyncLatencyCounts other) => ((ReadOnlySpan<long>)this).SequenceEqual(other);

    public override readonly bool Equals(object? obj) => obj is SyncLatencyCounts other && Equals(other);

    public override readonly int GetHashCode()
    {
        var hash = new HashCode();
        foreach (long count in this) hash.Add(count);
        return hash.ToHashCode();
    }

    public override readonly string ToString() => $"[{string.Join(", ", ((ReadOnlySpan<long>)this).ToArray())}]";
}
