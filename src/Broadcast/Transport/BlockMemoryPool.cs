using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace AtomicBcast.Transport;

/// <summary>
/// Fixed-size byte blocks for the connection pipes, allocated at start-up on the pinned object heap so sockets
/// never pin per operation and the GC never moves them. A block is its own <see cref="IMemoryOwner{T}"/>, so a rent
/// allocates nothing once the pool is warm. Grows on demand rather than failing; blocks are never freed.
/// Pipes ask for at most <see cref="MaxBufferSize"/>; larger requests go to the ArrayPool (Pipe does that itself).
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _free = new();
    private readonly int _blockBytes;
    private int _created;

    public BlockMemoryPool(int blockBytes, int blocksAtStart)
    {
        Debug.Assert(blockBytes > 0 && blocksAtStart >= 0);
        _blockBytes = blockBytes;
        for (int i = 0; i < blocksAtStart; i++) _free.Enqueue(NewBlock());
    }

    public override int MaxBufferSize => _blockBytes;

    /// <summary>Blocks ever created: the start-up count plus growth (a test or metric can watch it stay flat).</summary>
    public int BlocksCreated => Volatile.Read(ref _created);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > _blockBytes)
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), "larger than a block");
        if (!_free.TryDequeue(out var block)) block = NewBlock();
        block.Rented = true;
        return block;
    }

    protected override void Dispose(bool disposing) { }

    private Block NewBlock()
    {
        Interlocked.Increment(ref _created);
        return new Block(this, GC.AllocateUninitializedArray<byte>(_blockBytes, pinned: true));
    }

    private void Return(Block block) => _free.Enqueue(block);

    private sealed class Block(BlockMemoryPool pool, byte[] bytes) : IMemoryOwner<byte>
    {
        public bool Rented;
        public Memory<byte> Memory => bytes;

        public void Dispose()
        {
            // A double return would hand one block to two owners: a bug, so stop here.
            if (!Rented) throw new InvalidOperationException("block returned twice");
            Rented = false;
            pool.Return(this);
        }
    }
}
