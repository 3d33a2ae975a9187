using System.Diagnostics;
using System.Globalization;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// The measured window's acks per millisecond, by the time each message was due, with the slowest of them: shows when
/// the tail happens (a stall that comes back every half second, a slow first minute), which percentiles cannot.
/// Filled by the publishers' loops (thread-safe, no allocation per message); <c>abcast bench --timeline FILE</c>
/// writes it as CSV. One row per millisecond in which a message was due and acknowledged.
/// </summary>
internal sealed class AckTimeline
{
    /// <summary>The longest window a timeline covers: 16 B per millisecond, 58 MB at this bound.</summary>
    public const double SecondsMax = 3600;

    private readonly long _start;
    private readonly long[] _acked;
    private readonly long[] _slowestTicks;

    public AckTimeline(long measureStart, double seconds)
    {
        if (seconds is <= 0 or > SecondsMax) throw new ArgumentOutOfRangeException(nameof(seconds));
        _start = measureStart;
        int milliseconds = (int)Math.Ceiling(seconds * 1000);
        _acked = new long[milliseconds];
        _slowestTicks = new long[milliseconds];
    }

    /// <summary>One ack of a message due at <paramref name="dueTimestamp"/> (Stopwatch), <paramref name="latencyTicks"/>
    /// after it. Messages due outside the window are not counted.</summary>
    public void Record(long dueTimestamp, long latencyTicks)
    {
        long millisecond = (dueTimestamp - _start) * 1000 / Stopwatch.Frequency;
        if (dueTimestamp < _start || millisecond >= _acked.Length) return;
        Interlocked.Increment(ref _acked[millisecond]);
        InterlockedMax.Raise(ref _slowestTicks[millisecond], latencyTicks);
    }

    /// <summary>Header <c>ms,acked,slowestAckMs</c>, then one row per millisecond with acks, in order.</summary>
    public void WriteCsv(TextWriter output)
    {
        output.WriteLine("ms,acked,slowestAckMs");
        for (int i = 0; i < _acked.Length; i++)
        {
            long acked = Volatile.Read(ref _acked[i]);
            if (acked == 0) continue;
            double slowestMs = Volatile.Read(ref _slowestTicks[i]) * 1000.0 / Stopwatch.Frequency;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i},{acked},{slowestMs:0.###}"));
        }
    }
}
