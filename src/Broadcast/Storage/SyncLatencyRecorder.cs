using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

/// <summary>
/// Counts the log's sync durations into <see cref="SyncLatencyFigures"/> buckets. One writer at a time (the flush's owner), any number
/// of readers; a reading may be a sync behind, never torn per count.
/// </summary>
internal sealed class SyncLatencyRecorder
{
    private readonly long[] _counts = new long[SyncLatencyFigures.Buckets];
    private long _slowestMicros;

    public void Record(TimeSpan duration)
    {
        long micros = Math.Max(0, (long)duration.TotalMicroseconds);
        Interlocked.Increment(ref _counts[SyncLatencyFigures.BucketOf(micros)]);
        if (micros > Volatile.Read(ref _slowestMicros)) Volatile.Write(ref _slowestMicros, micros);
    }

    public SyncLatencyFigures Snapshot()
    {
        var counts = new SyncLatencyCounts();
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) counts[k] = Interlocked.Read(ref _counts[k]);
        return new SyncLatencyFigures(counts, Volatile.Read(ref _slowestMicros));
    }
}
