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
        Assert.True(ring.TryRead(4, 3, read));
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
        Assert.False(ring.TryRead(0, 10, new List<RetainedDelivery>()));
        ring.Clear();
    }

    [Fact]
    public void BeyondItsDeliveriesItEvictsTheOldestReleasesItsBatchAndStopsGrowing()
    {
        const int DeliveriesMax = 32; // twice the array's first size: it grows once, then no more
        var ring = new DeliveryRing(bytesMax: long.MaxValue, startPosition: 0, deliveriesMax: DeliveriesMax);
        var batches = new List<BatchBuffer>();
        for (int i = 0; i < 50; i++)
        {
            var batch = Batch((5, (ulong)(i + 1), 1));
            batches.Add(batch.Retain()); // the test's own reference, to see when the ring lets go
            Append(ring, i, i, batch, 1);
        }
        Assert.Equal(18, ring.FloorPosition);            // the 32 newest of 50 one-message deliveries
        Assert.Equal(50, ring.EndPosition);
        Assert.Equal(DeliveriesMax, ring.Capacity);       // full at the bound, and never grown past it
        Assert.Equal(-1, ring.Locate(17));
        Assert.Equal(18, ring.Locate(18));
        Assert.All(batches.Take(18), b => Assert.Equal(1, b.References));  // evicted: only the test holds them
        Assert.All(batches.Skip(18), b => Assert.Equal(2, b.References));
        ring.Clear();
        foreach (var b in batches) b.Release();
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

    /// <summary>
    /// Deliveries of mixed sizes under a small byte budget: the entries wrap around the circular array many times and it
    /// grows while the oldest is not at its start; floor, end, Locate, TryRead and TryFindRun agree with a plain model
    /// of the eviction rule at every step, and every batch is released exactly once in the end.
    /// </summary>
    [Fact]
    public void WrapsAroundAndGrowsAsTheBudgetAdmitsAndAgreesWithAModel()
    {
        var sizes = new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 1, 5, 2, 9, 9, 1, 1, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7, 7, 7 };
        var probe = Batch((1, 1, 1));
        long bytesMax = probe.Length * 24L; // about 24 one-message deliveries: more than the 16 the array starts with
        probe.Release();
        var ring = new DeliveryRing(bytesMax, startPosition: 50);
        var model = new List<(long Sequence, long First, int Count, int Bytes, BatchBuffer Batch)>();
        long position = 50, floor = 50;
        for (int i = 0; i < sizes.Length * 3; i++)
        {
            int count = sizes[i % sizes.Length];
            var batch = Batch((9, (ulong)position + 1, count));
            model.Add((i, position, count, batch.Length, batch));
            ring.Append(new DeliverMessage(position, i, [], batch), count);
            Assert.Equal(2, batch.References); // the model's and the ring's
            while (model.Count > 1 && model.Sum(m => m.Bytes) > bytesMax)
            {
                floor = model[0].First + model[0].Count;
                Assert.Equal(1, model[0].Batch.References); // the ring released what it evicted
                model[0].Batch.Release();
                model.RemoveAt(0);
            }
            position += count;
            CheckAgainstModel(ring, model, floor, position);
        }
        Assert.True(ring.Capacity > 16);
        ring.Clear();
        foreach (var m in model)
        {
            Assert.Equal(1, m.Batch.References);
            m.Batch.Release();
        }
    }

    private static void CheckAgainstModel(DeliveryRing ring, List<(long Sequence, long First, int Count, int Bytes, BatchBuffer Batch)> model,
        long floor, long end)
    {
        Assert.Equal((floor, end), (ring.FloorPosition, ring.EndPosition));
        Assert.Equal(model.Sum(m => (long)m.Bytes), ring.RetainedBytes);
        Assert.Equal(-1, ring.Locate(floor - 1));
        foreach (var m in model)
            for (long p = m.First; p < m.First + m.Count; p++) Assert.Equal(m.Sequence, ring.Locate(p));
        Assert.Equal(model[^1].Sequence + 1, ring.Locate(end));
        Assert.False(ring.TryRead(model[0].Sequence - 1, 100, new List<RetainedDelivery>()));
        var read = new List<RetainedDelivery>();
        Assert.True(ring.TryRead(model[0].Sequence, 100, read));
        Assert.Equal(model.Select(m => (m.Sequence, m.First, m.Count)), read.Select(r => (r.Sequence, r.Message.FirstPosition, r.MessageCount)));
        foreach (var r in read) r.Message.Batch.Release();
        var newest = model[^1];
        Assert.True(ring.TryFindRun(9, (ulong)newest.First + 1, newest.Count, 100, out long found));
        Assert.Equal(newest.First, found);
        var oldest = model[0];
        Assert.True(ring.TryFindRun(9, (ulong)oldest.First + 1, oldest.Count, model.Count, out found));
        Assert.Equal(oldest.First, found);
        Assert.False(ring.TryFindRun(9, (ulong)oldest.First + 1, oldest.Count, model.Count - 1, out _)); // newest only
    }
}
