using System.Runtime.InteropServices;
using AtomicBcast.Wire;

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
        var batches = lengths.Select(length => BatchBuffer.Rent(length)).ToArray();
        for (int i = 0; i < batches.Length; i++) batches[i].WritableSpan.Fill((byte)(i + 1));

        for (int i = 0; i < batches.Length; i++)
        {
            var (array, offset) = Where(batches[i]);
            Assert.Equal(BatchArena.SlabBytes, array.Length);
            Assert.Equal(0, offset % 64);
            Assert.Equal(lengths[i], batches[i].Length);
            Assert.True(batches[i].Span.IndexOfAnyExcept((byte)(i + 1)) < 0, $"batch {i} was overwritten");
        }
        foreach (var batch in batches) batch.Release();
    }

    [Fact]
    public void ASlabIsNotReusedWhileOneBatchInItIsHeld()
    {
        var straggler = BatchBuffer.Rent(100);
        straggler.WritableSpan.Fill(0xAB);
        var stragglerSlab = Where(straggler).Array;

        // Several slabs' worth of batches that come and go, as a ring's do. The first ones share the straggler's slab (it
        // is still the arena's current one); once the arena has moved on, none may land in it again.
        bool movedOn = false;
        for (int i = 0; i < 4 * BatchArena.SlabBytes / 10_000; i++)
        {
            var batch = BatchBuffer.Rent(10_000);
            bool inStragglerSlab = ReferenceEquals(stragglerSlab, Where(batch).Array);
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
        var ring = new Queue<BatchBuffer>(16_384); // sized up front: its growth would count as allocation
        long held = 0;
        void Step(int i)
        {
            int length = 200 + (int)(100_000 * (1 + Math.Sin(i / 300.0)));
            var batch = BatchBuffer.Rent(length);
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
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (; step < 6_000; step++) Step(step);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long slabs = BatchArena.SlabsCreated - slabsBefore;
        while (ring.Count > 0) ring.Dequeue().Release();

        Assert.True(slabs == 0, $"{slabs} slabs created in steady state");
        Assert.True(allocated == 0, $"{allocated} bytes allocated in steady state");
    }

    [Fact]
    public void LargeBatchesAndShortLivedCopiesTakeArraysOfTheirOwn()
    {
        var large = BatchBuffer.Rent(BatchArena.CarveBytesMax + 1);
        var run = BatchBuffer.CopyOfShortLived(new System.Buffers.ReadOnlySequence<byte>(new byte[100]));
        foreach (var batch in new[] { large, run })
        {
            var (array, offset) = Where(batch);
            Assert.Equal(0, offset);
            Assert.NotEqual(BatchArena.SlabBytes, array.Length);
            batch.Release();
        }
    }

    [Fact]
    public void IdleSlabsStayWithinTheirBound()
    {
        int slabs = (int)(BatchArena.IdleBytesMax / BatchArena.SlabBytes) + 4;
        var held = new List<BatchBuffer>();
        for (int i = 0; i < 4 * slabs; i++) held.Add(BatchBuffer.Rent(BatchArena.CarveBytesMax)); // four fill a slab
        foreach (var batch in held) batch.Release();
        Assert.True(BatchArena.IdleSlabs <= BatchArena.IdleBytesMax / BatchArena.SlabBytes, $"{BatchArena.IdleSlabs} idle slabs");
        Assert.True(BatchArena.IdleSlabs > 0, "released slabs were not kept for reuse");
    }

    private static (byte[] Array, int Offset) Where(BatchBuffer batch)
    {
        Assert.True(MemoryMarshal.TryGetArray(batch.Memory, out var segment));
        return (segment.Array!, segment.Offset);
    }
}
