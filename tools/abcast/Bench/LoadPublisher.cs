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
/// the load itself costs one queue entry per message: an ack is timed when the loop sees it, at most one burst late.
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
                    // Never past the window's end: a stalled cluster must not keep the run from ending.
                    long until = rate is null || _inFlight.Count >= window ? shared.MeasureEnd : Math.Min(nextDue, shared.MeasureEnd);
                    await Task.WhenAny(oldest, Task.Delay(DelayMs(until), stop)).ConfigureAwait(false);
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
        while (_inFlight.Count < window)
        {
            long now = Stopwatch.GetTimestamp();
            long at = now;
            if (rate is { } r)
            {
                long due = start + (long)(_sent * Stopwatch.Frequency / r);
                if (due > now) return due;
                at = due;
            }
            if (at >= shared.MeasureEnd) return shared.MeasureEnd;
            BinaryPrimitives.WriteInt64LittleEndian(_payload, at);
            Interlocked.Increment(ref shared.Published);
            _sent++;
            _inFlight.Enqueue((at, publisher.PublishAsync(_payload, CancellationToken.None))); // the call copies the payload
        }
        return 0;
    }

    /// <summary>Whole milliseconds until <paramref name="due"/>, at least 1 (the timer is coarse; lateness counts in the latency).</summary>
    private static int DelayMs(long due) => (int)Math.Max(1, (due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);

    private void Settle()
    {
        while (_inFlight.Count > 0 && _inFlight.Peek().Ack.IsCompleted)
        {
            var (at, ack) = _inFlight.Dequeue();
            if (!ack.IsCompletedSuccessfully)
            {
                _ = ack.Exception; // observed: counted and reported, the run goes on
                Interlocked.Increment(ref shared.Failed);
                continue;
            }
            long now = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref shared.Acked);
            if (!shared.InWindow(at)) continue;
            shared.Ack.RecordTicks(now - at);
            Interlocked.Increment(ref shared.AckedInWindow);
        }
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
