using System.Buffers.Binary;
using System.Diagnostics;
using AtomicBcast.Client;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// Reads the stream from the run's first position and counts this run's messages (by tag): every one for the final
/// check that all acknowledged messages arrived, those arriving inside the measurement window for throughput, and the
/// publish-to-delivery latency of those published inside it (the publisher's Stopwatch timestamp in the payload:
/// CLOCK_MONOTONIC, shared by the processes of one host).
/// </summary>
internal sealed class LoadSubscriber(BenchShared shared)
{
    private long _delivered;
    private long _deliveredInWindow;
    private long _bytesInWindow;

    public long Delivered => Volatile.Read(ref _delivered);
    public long DeliveredInWindow => Volatile.Read(ref _deliveredInWindow);
    public long BytesInWindow => Volatile.Read(ref _bytesInWindow);

    public async Task RunAsync(SubscriberOptions options, long fromPosition, CancellationToken stop)
    {
        await using var subscriber = await Subscriber.ConnectAsync(options, stop).ConfigureAwait(false);
        try
        {
            // The zero-copy stream: each batch (and its payloads) is only read before the next MoveNextAsync.
            await foreach (var batch in subscriber.ReadBatchesAsync(fromPosition, stop).ConfigureAwait(false)) Count(batch);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Counts one batch: its messages arrived together, so one timestamp serves them all; the counters move once.</summary>
    private void Count(DeliveryBatch batch)
    {
        long now = Stopwatch.GetTimestamp();
        bool nowInWindow = shared.InWindow(now);
        long delivered = 0, bytes = 0;
        foreach (var memory in batch)
        {
            var payload = memory.Span;
            if (payload.Length < BenchOptions.HeaderBytes || BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]) != shared.Tag) continue;
            long at = BinaryPrimitives.ReadInt64LittleEndian(payload);
            delivered++;
            bytes += payload.Length;
            if (shared.InWindow(at)) shared.Delivery.RecordTicks(now - at);
        }
        Volatile.Write(ref _delivered, _delivered + delivered);
        if (!nowInWindow) return;
        Volatile.Write(ref _deliveredInWindow, _deliveredInWindow + delivered);
        Volatile.Write(ref _bytesInWindow, _bytesInWindow + bytes);
    }
}
