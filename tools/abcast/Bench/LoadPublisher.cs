using System.Buffers.Binary;
using System.Diagnostics;
using AtomicBcast.Client;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// One publisher's load: keeps up to <c>window</c> messages in flight. Closed loop (no rate): a new message as soon as
/// one is acknowledged. Open loop (a rate): messages are due on a fixed schedule and latency is measured from the time a
/// message was due, so a stalled cluster shows up in the latencies instead of silently slowing the schedule
/// (coordinated omission); a message due while the window is full waits, and that wait counts. The payload starts with
/// its timestamp and the run's tag. One loop per publisher issues and settles (a publisher's acks complete in order), so
/// the load itself costs one queue entry per message (preallocated) and allocates nothing per message beyond the task
/// PublishAsync returns: an ack is timed when the loop sees it, at most one burst late, and the shared counters move
/// once per burst, not once per message.
/// </summary>
internal sealed class LoadPublisher(Publisher publisher, BenchShared shared, int size, int window, double? rate)
{
    private readonly Queue<(long At, Task<long> Ack)> _inFlight = new(Math.Min(window, 1 << 16));
    private readonly byte[] _payload = new byte[size];
    private long _sent;

    /// <summary>Publishes until the measurement window ends, then waits (guarded) for the messages still in flight.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        for (int i = BenchOptions.HeaderBytes; i < size; i++) _payload[i] = (byte)i;
        BinaryPrimitives.WriteUInt64LittleEndian(_payload.AsSpan(8), shared.Tag);
        long start = Stopwatch.GetTimestamp();
        // One timer for the whole run: waiting on the oldest ack never goes past the window's end (a stalled cluster must
        // not keep the run from ending), without a timer per wait.
        var windowEnd = Task.Delay(DelayMs(shared.MeasureEnd), stop);
        try
        {
            while (Stopwatch.GetTimestamp() < shared.MeasureEnd)
            {
                long nextDue = Issue(start);
                if (_inFlight.Count == 0)
                    await Task.Delay(DelayMs(nextDue), stop).ConfigureAwait(false);
                else if (!_inFlight.Peek().Ack.IsCompleted)
                {
                    Task oldest = _inFlight.Peek().Ack;
                    bool scheduled = rate is not null && _inFlight.Count < window && nextDue < shared.MeasureEnd;
                    var guard = scheduled ? Task.Delay(DelayMs(nextDue), stop) : windowEnd;
                    await Task.WhenAny(oldest, guard).ConfigureAwait(false);
                    stop.ThrowIfCancellationRequested();
                }
                Settle();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await DrainAsync().ConfigureAwait(false);
    }

    /// <summary>Publishes what the window (and the schedule) allow; returns when the next message is due (open loop).</summary>
    private long Issue(long start)
    {
        long issued = 0;
        long nextDue = 0;
        while (_inFlight.Count < window)
        {
            long now = Stopwatch.GetTimestamp();
            long at = now;
            if (rate is { } r)
            {
                long due = start + (long)(_sent * Stopwatch.Frequency / r);
                if (due > now)
                {
                    nextDue = due;
                    break;
                }
                at = due;
            }
            if (at >= shared.MeasureEnd)
            {
                nextDue = shared.MeasureEnd;
                break;
            }
            BinaryPrimitives.WriteInt64LittleEndian(_payload, at);
            _sent++;
            issued++;
            _inFlight.Enqueue((at, publisher.PublishAsync(_payload, CancellationToken.None))); // the call copies the payload
        }
        Interlocked.Add(ref shared.Published, issued);
        return nextDue;
    }

    /// <summary>Whole milliseconds until <paramref name="due"/>, at least 1 (the timer is coarse; lateness counts in the latency).</summary>
    private static int DelayMs(long due) => (int)Math.Max(1, (due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);

    /// <summary>Takes the completed acks off the front (in order): all seen now, so one timestamp serves them all.</summary>
    private void Settle()
    {
        long now = Stopwatch.GetTimestamp();
        long acked = 0, inWindow = 0, failed = 0, oldest = long.MaxValue;
        while (_inFlight.Count > 0 && _inFlight.Peek().Ack.IsCompleted)
        {
            var (at, ack) = _inFlight.Dequeue();
            if (!ack.IsCompletedSuccessfully)
            {
                _ = ack.Exception; // observed: counted and reported, the run goes on
                failed++;
                continue;
            }
            acked++;
            oldest = Math.Min(oldest, at);
            if (!shared.InWindow(at)) continue;
            shared.Ack.RecordTicks(now - at);
            shared.Timeline?.Record(at, now - at);
            inWindow++;
        }
        if (acked > 0) shared.NoteAckTicks(now - oldest);
        if (failed > 0) Interlocked.Add(ref shared.Failed, failed);
        Interlocked.Add(ref shared.AckedInWindow, inWindow);
        Interlocked.Add(ref shared.Acked, acked);
    }

    private async Task DrainAsync()
    {
        var guard = Stopwatch.StartNew();
        while (_inFlight.Count > 0 && guard.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.WhenAny(_inFlight.Peek().Ack, Task.Delay(100)).ConfigureAwait(false);
            Settle();
        }
    }
}
