using System.Diagnostics;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// What the publishers and subscribers of one run share: the run's tag, the measurement window and the counters.
/// Only messages published inside the window (their timestamp) are recorded in the latency histograms; only deliveries
/// and acks arriving inside it count towards throughput. Warm-up traffic is published and delivered like the rest.
/// </summary>
internal sealed class BenchShared(ulong tag, long measureStart, long measureEnd, AckTimeline? timeline = null)
{
    public readonly ulong Tag = tag;
    public readonly long MeasureStart = measureStart;
    public readonly long MeasureEnd = measureEnd;
    public readonly LatencyRecorder Ack = new();
    public readonly LatencyRecorder Delivery = new();
    /// <summary>Acks per millisecond of the window, when <c>--timeline</c> asked for them.</summary>
    public readonly AckTimeline? Timeline = timeline;
    public long Published;
    public long Acked;
    public long AckedInWindow;
    public long Failed;
    private long _intervalMaxAckTicks;

    /// <summary>Notes an ack latency for the live display's per-second maximum (once per burst: the burst's oldest).</summary>
    public void NoteAckTicks(long ticks) => InterlockedMax.Raise(ref _intervalMaxAckTicks, ticks);

    /// <summary>The largest ack latency noted since the last call, in milliseconds.</summary>
    public double TakeIntervalMaxAckMs() => Interlocked.Exchange(ref _intervalMaxAckTicks, 0) * 1000.0 / Stopwatch.Frequency;

    public double MeasureSeconds => (MeasureEnd - MeasureStart) / (double)Stopwatch.Frequency;

    public bool InWindow(long timestamp) => timestamp >= MeasureStart && timestamp < MeasureEnd;

    public long InFlight => Interlocked.Read(ref Published) - Interlocked.Read(ref Acked) - Interlocked.Read(ref Failed);
}
