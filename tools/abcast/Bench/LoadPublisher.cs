using System.Buffers.Binary;
using System.Diagnostics;
using AtomicBcast.Client;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// One publisher's load: keeps up to <c>window</c> messages in flight. Closed loop (no rate): a new message as soon as
/// one is acknowledged. Open loop (a rate): messages are due on a fixed schedule and latency is measured from the time a
/// message was due, so a stalled cluster shows up in the latencies instead of silently slowing the schedule
/// (coordinated omission). The payload starts with its publish timestamp and the run's tag.
/// </summary>
internal sealed class LoadPublisher(Publisher publisher, BenchShared shared, int size, int window, double? rate)
{
    private readonly SemaphoreSlim _window = new(window, window);

    /// <summary>Publishes until the measurement window ends, then waits (guarded) for the messages still in flight.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var payload = new byte[size];
        for (int i = BenchOptions.HeaderBytes; i < size; i++) payload[i] = (byte)i;
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), shared.Tag);
        long start = Stopwatch.GetTimestamp();
        long sent = 0;
        try
        {
            while (true)
            {
                await _window.WaitAsync(stop).ConfigureAwait(false);
                long at = rate is { } r ? await WaitUntilDueAsync(start + (long)(sent * Stopwatch.Frequency / r), stop).ConfigureAwait(false)
                    : Stopwatch.GetTimestamp();
                if (at >= shared.MeasureEnd)
                {
                    _window.Release();
                    break;
                }
                BinaryPrimitives.WriteInt64LittleEndian(payload, at);
                Interlocked.Increment(ref shared.Published);
                sent++;
                _ = TrackAsync(publisher.PublishAsync(payload, CancellationToken.None), at); // the payload is copied by the call
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (int i = 0; i < window; i++) await _window.WaitAsync(guard.Token).ConfigureAwait(false);
    }

    /// <summary>Waits whole milliseconds until <paramref name="due"/>; returns the later of the due time and now (the timer is coarse).</summary>
    private static async ValueTask<long> WaitUntilDueAsync(long due, CancellationToken stop)
    {
        long wait = due - Stopwatch.GetTimestamp();
        if (wait * 1000 >= Stopwatch.Frequency) await Task.Delay((int)(wait * 1000 / Stopwatch.Frequency), stop).ConfigureAwait(false);
        return Math.Max(due, Stopwatch.GetTimestamp());
    }

    private async Task TrackAsync(Task<long> ack, long at)
    {
        try
        {
            await ack.ConfigureAwait(false);
            long now = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref shared.Acked);
            if (shared.InWindow(at))
            {
                shared.Ack.RecordTicks(now - at);
                Interlocked.Increment(ref shared.AckedInWindow);
            }
        }
        catch (Exception)
        {
            Interlocked.Increment(ref shared.Failed); // counted and reported; the run goes on
        }
        finally
        {
            _window.Release();
        }
    }
}
