using System.Diagnostics;
using HdrHistogram;

namespace AtomicBcast.Cli.Bench;

/// <summary>A thread-safe HdrHistogram of latencies, recorded in microseconds (3 significant digits, up to 1 hour).</summary>
internal sealed class LatencyRecorder
{
    private const long HighestMicros = 3_600_000_000;
    private readonly LongConcurrentHistogram _histogram = new(1, HighestMicros, 3);

    public void RecordTicks(long stopwatchTicks)
    {
        long micros = (long)(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency);
        _histogram.RecordValue(Math.Clamp(micros, 1, HighestMicros));
    }

    public long Count => _histogram.TotalCount;

    public Percentiles Snapshot()
    {
        if (_histogram.TotalCount == 0) return new Percentiles(0, 0, 0, 0);
        double Ms(double percentile) => _histogram.GetValueAtPercentile(percentile) / 1000.0;
        return new Percentiles(Ms(50), Ms(99), Ms(99.9), _histogram.GetMaxValue() / 1000.0);
    }
}

/// <summary>Latency percentiles in milliseconds (JSON: <c>p50</c>, <c>p99</c>, <c>p999</c>, <c>max</c>).</summary>
internal sealed record Percentiles(double P50, double P99, double P999, double Max);
