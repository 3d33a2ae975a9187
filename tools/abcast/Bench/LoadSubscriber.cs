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
            await foreach (var delivery in subscriber.ReadAllAsync(fromPosition, stop).ConfigureAwait(false)) Count(delivery.Payload.Span);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void Count(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < BenchOptions.HeaderBytes || BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]) != shared.Tag) return;
        long now = Stopwatch.GetTimestamp();
        long at = BinaryPrimitives.ReadInt64LittleEndian(payload);
        Volatile.Write(ref _delivered, _delivered + 1);
        if (shared.InWindow(now))
        {
            Volatile.Write(ref _deliveredInWindow, _deliveredInWindow + 1);
            Volatile.Write(ref _bytesInWindow, _bytesInWindow + payload.Length);
        }
        if (shared.InWindow(at)) shared.Delivery.RecordTicks(now - at);
    }
}
