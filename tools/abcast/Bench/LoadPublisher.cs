using System.Buffers.Binary;
using System.Diagnostics;
using AtomicBcast.Client;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// One publisher's load: keeps up to <c>window</c> messages in flight. Closed loop (no rate): a new message as soon as
/// one is acknowledged. Open loop (a rate): messages are due on a fixed schedule and latency is measured from the time a
/// message was due, so a stalled cluster shows up in the latencies instead of silently slowing the schedule
/// (coordinated omission); a message due while the window is full waits, and that wait counts. The payload starts with
/// its timestamp and the run's tag. One loop per publisher issues and settles. It publishes with
/// <see cref="Publisher.TryPublish"/> and follows <see cref="Publisher.AcknowledgedThrough"/> (its messages have
/// consecutive seqs), so the load allocates nothing per message: a task per wait, not per message, and one queue entry
/// per message (preallocated). The bench's own collections would otherwise pause it, and stretch the measured latencies,
/// dozens of times a second. An ack is timed when the loop sees it, at most one burst late, and the shared counters move
/// once per burst, not once per message.
/// </summary>
internal sealed class LoadPublisher(Publisher publisher, BenchShared shared, int size, int window, double? rate)
{
    private readonly Queue<long> _inFlight = new(Math.Min(window, 1 << 16)); // due times, oldest first
    private ulong _oldestSeq;                                               // the seq of the oldest in flight
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
                else if (publisher.AcknowledgedThrough < _oldestSeq)
                {
                    Task oldest = publisher.WaitAcknowledgedAsync(_oldestSeq, CancellationToken.None);
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
            if (!publisher.TryPublish(_payload, out ulong seq)) break; // the publisher's queue is full: like a full window
            if (_inFlight.Count == 0) _oldestSeq = seq;
            _sent++;
            issued++;
            _inFlight.Enqueue(at);
        }
        Interlocked.Add(ref shared.Published, issued);
        return nextDue;
    }

    /// <summary>Whole milliseconds until <paramref name="due"/>, at least 1 (the timer is coarse; lateness counts in the latency).</summary>
    private static int DelayMs(long due) => (int)Math.Max(1, (due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);

    /// <summary>Takes the acknowledged messages off the front (in order): all seen now, so one timestamp serves them all.</summary>
    private void Settle()
    {
        long now = Stopwatch.GetTimestamp();
        ulong through = publisher.AcknowledgedThrough;
        long acked = 0, inWindow = 0, oldest = long.MaxValue;
        while (_inFlight.Count > 0 && _oldestSeq <= through)
        {
            long at = _inFlight.Dequeue();
            _oldestSeq++;
            acked++;
            oldest = Math.Min(oldest, at);
            if (!shared.InWindow(at)) continue;
            shared.Ack.RecordTicks(now - at);
            shared.Timeline?.Record(at, now - at);
            inWindow++;
        }
        if (acked > 0) shared.NoteAckTicks(now - oldest);
        Interlocked.Add(ref shared.AckedInWindow, inWindow);
        Interlocked.Add(ref shared.Acked, acked);
    }

    /// <summary>Waits (guarded) for the messages still in flight; those never acknowledged count as failed.</summary>
    private async Task DrainAsync()
    {
        var guard = Stopwatch.StartNew();
        while (_inFlight.Count > 0 && guard.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.WhenAny(publisher.WaitAcknowledgedAsync(_oldestSeq, CancellationToken.None), Task.Delay(100)).ConfigureAwait(false);
            Settle();
        }
        if (_inFlight.Count > 0) Interlocked.Add(ref shared.Failed, _inFlight.Count);
    }
}
