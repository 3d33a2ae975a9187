using System.Buffers;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

// The arena is process-wide: these tests run in the non-parallel collection, so that no other test carves meanwhile
// and moves the arena to another slab under them.
[Collection(MemoryMeasurementCollection.Name)]
public class BatchArenaTests
{
    [Fact]
    public void CarvedBatchesKeepTheirOwnBytesAndStartOnACacheLine()
    {
        int[] lengths = [1, 63, 64, 65, 1000, 4097, 70_000, BatchArena.CarveBytesMax];
        var batches = lengths.Select(length => BatchBuffer.Rent(length, ordered: true)).ToArray();
        for (int i = 0; i < batches.Length; i++) batches[i].WritableSpan.Fill((byte)(i + 1));

        for (int i = 0; i < batches.Length; i++)
        {
            Assert.True(batches[i].IsCarved, $"batch {i} was not carved");
            Assert.Equal(0, AddressOf(batches[i]) % BatchArena.Alignment);
            Assert.Equal(lengths[i], batches[i].Length);
            Assert.True(batches[i].Span.IndexOfAnyExcept((byte)(i + 1)) < 0, $"batch {i} was overwritten");
        }
        foreach (var batch in batches) batch.Release();
    }

    [Fact]
    public void ASlabIsNotReusedWhileOneBatchInItIsHeld()
    {
        var straggler = BatchBuffer.Rent(100, ordered: true);
        straggler.WritableSpan.Fill(0xAB);
        var stragglerSlab = SlabOf(straggler);

        // Several slabs' worth of batches that come and go, as a ring's do. The first ones share the straggler's slab (it
        // is still the arena's current one); once the arena has moved on, none may land in it again.
        bool movedOn = false;
        for (int i = 0; i < 4 * BatchArena.SlabBytes / 10_000; i++)
        {
            var batch = BatchBuffer.Rent(10_000, ordered: true);
            bool inStragglerSlab = ReferenceEquals(stragglerSlab, SlabOf(batch));
            Assert.False(movedOn && inStragglerSlab, $"batch {i} reuses the slab of a batch still held");
            movedOn |= !inStragglerSlab;
            batch.WritableSpan.Fill(0x11);
            batch.Release();
        }
        Assert.True(movedOn, "the arena never left the first slab");
        Assert.True(straggler.Span.IndexOfAnyExcept((byte)0xAB) < 0, "the held batch was overwritten");
        straggler.Release(); // that slab's coming back is BatchesLeavingInOrderReuseSlabsWhateverTheirSizes's part
    }

    [Fact]
    public void BatchesLeavingInOrderReuseSlabsWhateverTheirSizes()
    {
        // A ring of ~3 slabs of batches, the oldest released as each new one comes; sizes drift from small to large and
        // back, which made size classes miss (the batches leaving were sized by an earlier load than those coming).
        var ring = new Queue<BatchBuffer>(16_384);
        long held = 0;
        void Step(int i)
        {
            int length = 200 + (int)(100_000 * (1 + Math.Sin(i / 300.0)));
            var batch = BatchBuffer.Rent(length, ordered: true);
            ring.Enqueue(batch);
            held += length;
            while (held > 3L * BatchArena.SlabBytes)
            {
                var oldest = ring.Dequeue();
                held -= oldest.Length;
                oldest.Release();
            }
        }
        int step = 0;
        for (; step < 3_000; step++) Step(step); // warm up: the ring fills, the arena reaches its working set
        long slabsBefore = BatchArena.SlabsCreated;
        for (; step < 6_000; step++) Step(step);
        long slabs = BatchArena.SlabsCreated - slabsBefore;
        while (ring.Count > 0) ring.Dequeue().Release();

        // Slabs only: the BatchBuffer objects' own pool (a ConcurrentQueue underneath) may allocate a segment now and then
        // when a thousand of them go round in order, whatever the arena does.
        Assert.True(slabs == 0, $"{slabs} slabs created in steady state");
    }

    [Fact]
    public void OnlyOrderedBatchesUpToAQuarterSlabAreCarved()
    {
        var large = BatchBuffer.Rent(BatchArena.CarveBytesMax + 1, ordered: true);
        var unordered = BatchBuffer.Rent(100);
        var copy = BatchBuffer.CopyOf(new ReadOnlySequence<byte>(new byte[100]));
        foreach (var batch in new[] { large, unordered, copy })
        {
            Assert.False(batch.IsCarved);
            batch.Release();
        }
    }

    [Fact]
    public void ShortLivedBatchesBesideLongHeldOnesPinNoSlabs()
    {
        // A subscriber catching up from the log while the ring keeps small live batches: the log's reads are unordered,
        // so they must not fill slabs that the ring's batches then keep.
        int inUseBefore = BatchArena.SlabsInUse;
        var kept = new List<BatchBuffer>();
        for (int i = 0; i < 1_000; i++)
        {
            kept.Add(BatchBuffer.Rent(200, ordered: true));
            for (int k = 0; k < 16; k++) BatchBuffer.Rent(64 * 1024).Release();
        }
        int inUse = BatchArena.SlabsInUse - inUseBefore;
        foreach (var batch in kept) batch.Release();
        Assert.True(inUse <= 1, $"{inUse} more slabs in use for 1,000 batches of 200 bytes");
    }

    [Fact]
    public void PastItsBoundTheArenaLeavesBatchesToTheSizeClasses()
    {
        int boundBefore = BatchArena.SlabsInUseMax;
        long refusedBefore = BatchArena.RefusedAtCap;
        var held = new List<BatchBuffer>();
        try
        {
            BatchArena.SlabsInUseMax = BatchArena.SlabsInUse + 2;
            for (int i = 0; i < 16; i++)
            {
                var batch = BatchBuffer.Rent(BatchArena.CarveBytesMax, ordered: true); // four fill a slab
                batch.WritableSpan.Fill((byte)i);
                held.Add(batch);
                Assert.True(BatchArena.SlabsInUse <= BatchArena.SlabsInUseMax, $"{BatchArena.SlabsInUse} slabs in use");
            }
            Assert.Contains(held, batch => batch.IsCarved);
            Assert.Contains(held, batch => !batch.IsCarved);
            Assert.Equal(held.Count(batch => !batch.IsCarved), BatchArena.RefusedAtCap - refusedBefore); // each refusal counted
            for (int i = 0; i < held.Count; i++)
                Assert.True(held[i].Span.IndexOfAnyExcept((byte)i) < 0, $"batch {i} was overwritten");
        }
        finally
        {
            foreach (var batch in held) batch.Release();
            BatchArena.SlabsInUseMax = boundBefore;
        }
    }

    [Fact]
    public void IdleSlabsStayWithinTheirBound()
    {
        int slabs = (int)(BatchArena.IdleBytesMax / BatchArena.SlabBytes) + 4;
        var held = new List<BatchBuffer>();
        for (int i = 0; i < 4 * slabs; i++) held.Add(BatchBuffer.Rent(BatchArena.CarveBytesMax, ordered: true)); // four fill a slab
        foreach (var batch in held) batch.Release();
        Assert.True(BatchArena.IdleSlabs <= BatchArena.IdleBytesMax / BatchArena.SlabBytes, $"{BatchArena.IdleSlabs} idle slabs");
        Assert.True(BatchArena.IdleSlabs > 0, "released slabs were not kept for reuse");
    }

    [Fact]
    public void APeersFramesAreCarvedAndAClientsAreNot()
    {
        var bytes = new ReadOnlySequence<byte>(Encode(Samples.SmallByName("accept")));
        Assert.True(FrameCodec.TryReadFrame(ref bytes, out var frame));
        var fromPeer = (AcceptMessage)MessageReader.ReadOwned(frame, ordered: true);
        var fromClient = (AcceptMessage)MessageReader.ReadOwned(frame);
        Assert.True(fromPeer.Batch.IsCarved);
        Assert.False(fromClient.Batch.IsCarved);
        Assert.True(fromPeer.Batch.Span.SequenceEqual(fromClient.Batch.Span));
        fromPeer.Batch.Release();
        fromClient.Batch.Release();
    }

    private static unsafe long AddressOf(BatchBuffer batch)
    {
        fixed (byte* first = batch.Span) return (long)first;
    }

    private static byte[] SlabOf(BatchBuffer batch)
    {
        Assert.True(batch.IsCarved);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(batch.Memory, out var segment));
        return segment.Array!;
    }
}
