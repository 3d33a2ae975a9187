using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

public sealed class DeliveryRingTests
{
    /// <summary>A batch of one run per (producer, firstSeq, count), each message one byte.</summary>
    private static BatchBuffer Batch(params (ulong Producer, ulong FirstSeq, int Count)[] runs)
    {
        var builder = new BatchBuilder();
        foreach (var (producer, firstSeq, count) in runs)
        {
            var payloads = Enumerable.Range(0, count).Select(i => (ReadOnlyMemory<byte>)new[] { (byte)i }).ToArray();
            Assert.True(builder.TryAppendRun(producer, firstSeq, payloads));
        }
        return builder.Seal();
    }

    private static void Append(DeliveryRing ring, long firstPosition, long instance, BatchBuffer batch, int count, ushort[]? skipped = null)
    {
        ring.Append(new DeliverMessage(firstPosition, instance, skipped ?? [], batch), count);
        batch.Release();
    }

    [Fact]
    public void LocatesPositionsReadsInOrderAndEvictsOldestBeyondItsBytes()
    {
        var ring = new DeliveryRing(bytesMax: long.MaxValue, startPosition: 0);
        for (int i = 0; i < 10; i++) Append(ring, i * 3, i, Batch((7, (ulong)(i * 3 + 1), 3)), 3);
        Assert.Equal(0, ring.FloorPosition);
        Assert.Equal(30, ring.EndPosition);
        Assert.Equal(0, ring.Locate(0));
        Assert.Equal(1, ring.Locate(3));
        Assert.Equal(1, ring.Locate(5));
        Assert.Equal(10, ring.Locate(30)); // the next delivery to come
        var read = new List<RetainedDelivery>();
        Assert.True(ring.TryRead(4, 3, read, out _));
        Assert.Equal([4L, 5, 6], read.Select(r => r.Sequence));
        foreach (var r in read) r.Message.Batch.Release();
        Assert.True(ring.TryFindRun(7, 10, 3, 100, out long position));
        Assert.Equal(9, position);
        Assert.False(ring.TryFindRun(7, 11, 3, 100, out _));
        ring.Clear();
    }

    [Fact]
    public void EvictionRaisesTheFloorAndAReaderBelowItIsTold()
    {
        var first = Batch((1, 1, 2));
        var ring = new DeliveryRing(bytesMax: first.Length * 2, startPosition: 100);
        Append(ring, 100, 0, first, 2);
        for (int i = 1; i < 5; i++) Append(ring, 100 + 2 * i, i, Batch((1, (ulong)(1 + 2 * i), 2)), 2);
        Assert.Equal(106, ring.FloorPosition);
        Assert.Equal(-1, ring.Locate(104));
        Assert.False(ring.TryRead(0, 10, new List<RetainedDelivery>(), out _));
        ring.Clear();
    }

    [Fact]
    public void SkippedRunsTakeNoPositionWhenFindingARun()
    {
        var ring = new DeliveryRing(long.MaxValue, 0);
        Append(ring, 0, 0, Batch((1, 1, 2), (2, 5, 4), (3, 1, 1)), 3, skipped: [1]);
        Assert.True(ring.TryFindRun(3, 1, 1, 10, out long position));
        Assert.Equal(2, position);
        Assert.False(ring.TryFindRun(2, 5, 4, 10, out _));
        ring.Clear();
    }
}
