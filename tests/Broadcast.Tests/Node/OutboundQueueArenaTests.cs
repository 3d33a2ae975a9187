using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using AtomicBcast.Node;
using AtomicBcast.Wire;
using Xunit.Abstractions;
using static AtomicBcast.Tests.Node.OutboundQueueTestKit;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// What an <see cref="OutboundQueue"/> keeps of carved batches (review C1: a lagging peer's queue pinned a slab per queued
/// batch). Slab counts and the pool's idle bytes are process-wide: these run in the non-parallel collection.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class OutboundQueueArenaTests(ITestOutputHelper output)
{
    /// <summary>
    /// The reviewer's model, scaled down: the leader carves every batch, a ring keeps the last few in order and releases
    /// the oldest, and a follower's queue is filled and then drains one message per <c>SendsPerDrain</c> sends, so it
    /// admits one accept in that many, 2 MiB apart in carve order. Kept by reference, each of those pinned its own slab
    /// (64 queued: the arena reached the cap set here and refused carves); the queue now holds copies past its mark, so the
    /// slabs in use stay within the ring's, the mark's and the current one.
    /// </summary>
    [Fact]
    public async Task ALaggingQueueKeepsAboutItsMarkOfSlabsNotOnePerQueuedBatch()
    {
        const int capacity = 64;
        const int batchBytes = 64 << 10;     // 16 per slab
        const int ringBatches = 32;          // 2 MiB: 2 slabs, 3 when not aligned to them
        const int sendsPerDrain = 32;        // 2 MiB between admitted accepts: each in a slab of its own
        const int drains = 4 * capacity;     // the queue turns over 4 times
        const int capSlabs = 48;             // below the 64 + 3 that one slab per queued batch needs
        var queue = new OutboundQueue(capacity);
        Assert.Equal(16, queue.HighWaterMark);
        int ringSlabs = ringBatches * batchBytes / BatchArena.SlabBytes + 1;
        var content = ValidBatchOf(batchBytes); // the drain writes them: a Debug build checks each batch's header

        int capBefore = BatchArena.SlabsInUseMax;
        int inUseBefore = BatchArena.SlabsInUse;
        long refusedBefore = BatchArena.RefusedAtCap;
        var ring = new Queue<BatchBuffer>();
        var writer = new OneFlushAtATimeWriter();
        int peak = 0;
        long instance = 0;
        Task drain;
        try
        {
            BatchArena.SlabsInUseMax = inUseBefore + capSlabs;
            while (queue.Queued().Length < capacity) Send();
            drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None); // writes one, then waits for its flush
            for (int d = 0; d < drains; d++)
            {
                for (int s = 0; s < sendsPerDrain; s++) Send();
                writer.CompleteFlush(drain); // the drain writes the next one and waits again
                peak = Math.Max(peak, BatchArena.SlabsInUse - inUseBefore);
            }
            queue.Complete();
            while (!drain.IsCompleted) writer.CompleteFlush(drain);
            await drain;
        }
        finally
        {
            BatchArena.SlabsInUseMax = capBefore;
        }
        while (ring.Count > 0) ring.Dequeue().Release();

        output.WriteLine($"slabs in use at the peak: {peak} (mark {queue.HighWaterMark}, ring {ringSlabs}); dropped {queue.Dropped}; " +
            $"refused at the cap: {BatchArena.RefusedAtCap - refusedBefore}");
        Assert.True(peak <= queue.HighWaterMark + ringSlabs + 2, $"{peak} slabs in use at the peak");
        Assert.Equal(0, BatchArena.RefusedAtCap - refusedBefore);
        Assert.True(queue.Dropped > drains * (sendsPerDrain - 2), $"{queue.Dropped} dropped: the queue did not lag");
        // Everything the queue held was given back: no slab is left but the arena's current one.
        Assert.True(BatchArena.SlabsInUse - inUseBefore <= 1, $"{BatchArena.SlabsInUse - inUseBefore} slabs still in use");

        void Send()
        {
            var batch = BatchBuffer.Rent(batchBytes, ordered: true);
            content.CopyTo(batch.WritableSpan);
            queue.TryEnqueue(Accept(instance++, batch));
            ring.Enqueue(batch); // the ring keeps the leader's reference
            if (ring.Count > ringBatches) ring.Dequeue().Release();
        }
    }

    /// <summary>
    /// A healthy queue shares the caller's carved batch (one more reference, no copy); from its mark on it holds an
    /// unordered copy with the same bytes and one reference of its own, and the caller's batch keeps the references it
    /// would have without the queue. Everything is written, and every copy goes back to the pool.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BelowTheMarkTheQueueSharesCarvedBatchesAndFromItHoldsCopies(bool forPump)
    {
        var queue = new OutboundQueue(16);
        int mark = queue.HighWaterMark;
        Assert.Equal(4, mark);
        const int count = 12;
        long idle = PoolWithIdleArrays(count - mark);
        var shared = CarvedBatch();

        for (int i = 0; i < count; i++) Assert.True(Enqueue(queue, forPump, Accept(i, shared)));
        var queued = queue.Queued().Select(m => m.AsAccept().Batch).ToArray();
        Assert.Equal(count, queued.Length);
        Assert.Equal(1 + mark, shared.References);
        for (int i = 0; i < mark; i++) Assert.Same(shared, queued[i]);
        for (int i = mark; i < count; i++)
        {
            Assert.NotSame(shared, queued[i]);
            Assert.False(queued[i].IsCarved, $"message {i} holds a carved batch");
            Assert.Equal(1, queued[i].References);
            Assert.True(queued[i].Span.SequenceEqual(shared.Span), $"message {i} holds other bytes");
        }
        Assert.Equal(idle - queued[mark..].Sum(ArrayBytes), BatchArrayPool.IdleBytes); // the copies' arrays came from the pool

        queue.Complete();
        var writer = new RecordingWriter();
        await queue.DrainAsync(new PipeConnection(writer), CancellationToken.None).WaitAsync(Guard);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), WrittenInstances(writer));
        Assert.Equal(1, shared.References);
        Assert.Equal(idle, BatchArrayPool.IdleBytes);
        Assert.Equal(0, queue.Dropped);
        shared.Release();
    }

    /// <summary>
    /// The ring starts at <see cref="OutboundQueue.InitialSlots"/> and doubles as the queue fills (an idle connection keeps
    /// a small one). The ring grows twice here while its head is not at slot 0, so that its messages wrap around its end:
    /// once with no copy held, once with copies held on both sides of the wrap. The messages keep their order, and the
    /// copies' bytes, counted per slot, move with their messages: each is given back exactly once, when written.
    /// </summary>
    [Fact]
    public async Task TheRingGrowsThroughAWrapKeepingTheOrderAndTheCopiedBytes()
    {
        var queue = new OutboundQueue(1024);
        Assert.Equal(OutboundQueue.InitialSlots, queue.Slots);
        int mark = queue.HighWaterMark;
        Assert.Equal(256, mark);
        var batch = BatchBuffer.CopyOf(new ReadOnlySequence<byte>(ValidBatchOf(1000)), ordered: true);
        Assert.True(batch.IsCarved);
        var model = new Queue<(long Instance, bool Copy)>(); // what the queue should hold, oldest first
        long next = 0;

        void Enqueue(int count)
        {
            for (int i = 0; i < count; i++)
            {
                model.Enqueue((next, model.Count >= mark)); // admitted at or past the mark: a copy
                Assert.True(queue.TryEnqueue(Accept(next++, batch)));
            }
        }

        void Drop(int count)
        {
            queue.DropOldest(count);
            for (int i = 0; i < count; i++) model.Dequeue();
        }

        void AssertHeldAsModelled()
        {
            var queued = queue.Queued();
            Assert.Equal(model.Select(m => m.Instance), queued.Select(m => m.AsAccept().Instance));
            Assert.Equal(model.Select(m => m.Copy), queued.Select(m => !ReferenceEquals(m.AsAccept().Batch, batch)));
            Assert.Equal(model.Count(m => m.Copy) * (long)batch.Length, queue.CopiedBytes);
        }

        Enqueue(10);
        Drop(5);
        Enqueue(64 - 5);                 // the 64th held wraps to slot 4 of 64 (head 5): full
        Assert.Equal(64, queue.Slots);
        Enqueue(1);                      // grows with the head at 5, no copies
        Assert.Equal(128, queue.Slots);
        AssertHeldAsModelled();
        Enqueue(mark + 100 - model.Count); // copies from the mark on; the ring grows to 512 with its head at 0
        Assert.Equal(512, queue.Slots);
        Drop(300);                       // head at 300, holding 56 copies
        Enqueue(512 - model.Count);      // wraps: the newest at slots 0-299; copies again from the mark on; full
        Assert.Equal(512, queue.Slots);
        AssertHeldAsModelled();
        Enqueue(1);                      // grows with its head at 300 and copies on both sides of the wrap
        Assert.Equal(1024, queue.Slots);
        AssertHeldAsModelled();
        Drop(400);                       // gives back each dropped copy's own bytes: counted per slot, they moved too
        AssertHeldAsModelled();

        queue.Complete();
        var writer = new RecordingWriter();
        await queue.DrainAsync(new PipeConnection(writer), CancellationToken.None).WaitAsync(Guard);
        Assert.Equal(model.Select(m => m.Instance), WrittenInstances(writer));
        Assert.Equal(0, queue.CopiedBytes);
        Assert.Equal(1, batch.References);
        Assert.Equal(0, queue.Dropped);
        batch.Release();
    }

    /// <summary>
    /// A full queue drops without taking anything (no reference, no copy); a closed one past its mark drops after copying,
    /// and gives the copy back at once. The caller's batch ends with only the caller's reference.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADroppedMessageGivesBackExactlyWhatWasTakenForIt(bool forPump)
    {
        var full = new OutboundQueue(8);
        var closed = new OutboundQueue(8);
        Assert.Equal(2, full.HighWaterMark);
        long idle = PoolWithIdleArrays(8);
        var shared = CarvedBatch();

        for (int i = 0; i < 8; i++) Enqueue(full, forPump, Accept(i, shared));
        for (int i = 0; i < 3; i++) Enqueue(closed, forPump, Accept(i, shared));
        closed.Complete();
        Assert.Equal(1 + 2 + 2, shared.References);
        var copies = full.Queued().Concat(closed.Queued()).Select(m => m.AsAccept().Batch).Where(b => b != shared).ToArray();
        Assert.Equal(6 + 1, copies.Length);
        Assert.Equal(6L * BatchBytes, full.CopiedBytes);
        Assert.Equal(1L * BatchBytes, closed.CopiedBytes);
        long idleHeld = BatchArrayPool.IdleBytes;
        Assert.Equal(idle - copies.Sum(ArrayBytes), idleHeld);

        Assert.False(Enqueue(full, forPump, Accept(8, shared)));
        Assert.False(Enqueue(closed, forPump, Accept(3, shared)));
        Assert.Equal(1, full.Dropped);
        Assert.Equal(1, closed.Dropped);
        Assert.Equal(1 + 2 + 2, shared.References);
        Assert.Equal(idleHeld, BatchArrayPool.IdleBytes);
        Assert.Equal(6L * BatchBytes, full.CopiedBytes);
        Assert.Equal(1L * BatchBytes, closed.CopiedBytes); // the refused message's copy is no longer counted
        Assert.Equal(8, full.Queued().Length);
        Assert.Equal(3, closed.Queued().Length);

        full.Complete();
        foreach (var queue in new[] { full, closed })
            await queue.DrainAsync(new PipeConnection(new RecordingWriter()), CancellationToken.None).WaitAsync(Guard);
        Assert.Equal(1, shared.References);
        Assert.Equal(idle, BatchArrayPool.IdleBytes);
        Assert.Equal(0, full.CopiedBytes);
        Assert.Equal(0, closed.CopiedBytes);
        shared.Release();
    }

    /// <summary>
    /// A retransmit storm: a leader without a majority sends its unanswered window again every 100 ms, so one carved batch
    /// reaches a lagging queue many times. References shared it; copies do not, so the queue's copies are bounded by
    /// <see cref="OutboundQueue.CopiedBytesMax"/> bytes and the rest is dropped and counted, taking nothing (no reference,
    /// no copy). Each copy is given back once written, and what is left when the drain ends (the peer closed) is given
    /// back then: no copied bytes are left counted, the pool has all its arrays back and the batch only its owner's
    /// reference.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARetransmitStormKeepsALaggingQueuesCopiesWithinTheirBound(bool forPump)
    {
        const int copies = 4;
        var queue = new OutboundQueue(64, copiedBytesMax: copies * BatchBytes + BatchBytes / 2);
        int mark = queue.HighWaterMark;
        Assert.Equal(16, mark);
        long idle = PoolWithIdleArrays(copies);
        var shared = CarvedBatch();

        var admitted = Enumerable.Range(0, 64).Select(i => Enqueue(queue, forPump, Accept(i, shared))).ToArray();
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i < mark + copies), admitted);
        Assert.Equal(64 - mark - copies, queue.Dropped);
        Assert.Equal((long)copies * BatchBytes, queue.CopiedBytes);
        Assert.True(queue.CopiedBytes <= queue.CopiedBytesMax);
        Assert.Equal(1 + mark, shared.References); // nothing taken for the dropped ones
        var held = queue.Queued().Select(m => m.AsAccept().Batch).ToArray();
        Assert.Equal(mark + copies, held.Length);
        Assert.All(held[mark..], b => Assert.False(b.IsCarved)); // never the carved batch by reference past the mark
        Assert.Equal(idle - held[mark..].Sum(ArrayBytes), BatchArrayPool.IdleBytes);

        // The peer takes one message per flush: the queue keeps lagging, and the storm goes on into the bound.
        var writer = new OneFlushAtATimeWriter();
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None); // writes #0, waits for its flush
        long dropped = queue.Dropped;
        for (int i = 0; i < 16; i++) Assert.False(Enqueue(queue, forPump, Accept(64 + i, shared)));
        Assert.Equal(dropped + 16, queue.Dropped);
        Assert.Equal((long)copies * BatchBytes, queue.CopiedBytes);

        for (int i = 1; i <= mark; i++) writer.CompleteFlush(drain); // writes #1 to #mark, the first copy
        Assert.Equal((long)(copies - 1) * BatchBytes, queue.CopiedBytes); // the written copy was given back
        Assert.Equal(copies - 1, queue.Queued().Length);
        writer.CompleteFlush(drain, connectionEnded: true); // the drain ends; the copies left are given back
        await drain.WaitAsync(Guard);

        Assert.Empty(queue.Queued());
        Assert.Equal(0, queue.CopiedBytes);
        Assert.Equal(1, shared.References);
        Assert.Equal(idle, BatchArrayPool.IdleBytes);
        shared.Release();
    }

    /// <summary>
    /// The bound is on copies only: past it, messages that carry no carved batch (a heartbeat, an Accepted, an accept of
    /// an unordered batch) copy nothing and are admitted until the queue is full, while an accept of a carved batch is
    /// dropped.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PastTheCopyBoundMessagesWithoutCarvedBatchesAreStillAdmittedUntilFull(bool forPump)
    {
        var queue = new OutboundQueue(16, copiedBytesMax: BatchBytes + BatchBytes / 2);
        Assert.Equal(4, queue.HighWaterMark);
        var shared = CarvedBatch();
        var unordered = BatchBuffer.CopyOf(new ReadOnlySequence<byte>(s_batch));
        Assert.False(unordered.IsCarved);
        var ballot = Ballot.Create(1, 1);

        for (int i = 0; i < 5; i++) Assert.True(Enqueue(queue, forPump, Accept(i, shared))); // 4 shared, 1 copied
        Assert.Equal((long)BatchBytes, queue.CopiedBytes);
        Assert.False(Enqueue(queue, forPump, Accept(5, shared))); // a second copy would pass the bound
        Assert.Equal(1, queue.Dropped);

        Assert.True(Enqueue(queue, forPump, Accept(6, unordered))); // shared by reference: no copy
        Assert.True(Enqueue(queue, forPump, new AcceptedMessage(ballot, 0, 6)));
        for (int i = 0; i < 9; i++) Assert.True(Enqueue(queue, forPump, new HeartbeatMessage(ballot, i)));
        Assert.Equal(16, queue.Queued().Length);
        Assert.False(Enqueue(queue, forPump, new HeartbeatMessage(ballot, 9))); // full
        Assert.Equal(2, queue.Dropped);
        Assert.Equal((long)BatchBytes, queue.CopiedBytes);
        Assert.Equal(2, unordered.References);
        Assert.Equal(1 + 4, shared.References);

        queue.Complete();
        var writer = new RecordingWriter();
        await queue.DrainAsync(new PipeConnection(writer), CancellationToken.None).WaitAsync(Guard);
        string[] written = [.. Enumerable.Repeat(nameof(AcceptMessage), 6), nameof(AcceptedMessage), .. Enumerable.Repeat(nameof(HeartbeatMessage), 9)];
        Assert.Equal(written, WrittenTypes(writer));
        Assert.Equal(0, queue.CopiedBytes);
        Assert.Equal(1, shared.References);
        Assert.Equal(1, unordered.References);
        shared.Release();
        unordered.Release();
    }

    /// <summary>The type of every message written to <paramref name="writer"/>, in order (their batches released).</summary>
    private static List<string> WrittenTypes(RecordingWriter writer)
    {
        var buffer = new ReadOnlySequence<byte>(writer.Written);
        var types = new List<string>();
        while (FrameCodec.TryReadFrame(ref buffer, out var frame))
        {
            var message = MessageReader.ReadEnvelope(frame);
            types.Add(message.ToObject().GetType().Name);
            AtomicBcast.Client.OwnedFrames.Release(message);
        }
        Assert.Equal(0, buffer.Length);
        return types;
    }

    // A valid batch (the drain's writes are read back) whose copies take one of the pool's large classes (above
    // BatchArrayPool.SmallBytesMax), so that the pool's idle bytes show each copy taken and given back; small enough to be
    // carved.
    private static readonly byte[] s_batch = ValidBatch();
    private static int BatchBytes => s_batch.Length;

    private static byte[] ValidBatch()
    {
        var batch = AtomicBcast.Tests.Wire.WireTestKit.Batch(1, 24, 4000, false);
        var bytes = batch.Span.ToArray();
        batch.Release();
        Assert.InRange(bytes.Length, 64 << 10, 128 << 10);
        return bytes;
    }

    /// <summary>The bytes of a valid batch of exactly <paramref name="length"/> bytes (one run of one message).</summary>
    private static byte[] ValidBatchOf(int length)
    {
        var probe = AtomicBcast.Tests.Wire.WireTestKit.Batch(1, 1, length / 2, false);
        int overhead = probe.Length - length / 2;
        probe.Release();
        var batch = AtomicBcast.Tests.Wire.WireTestKit.Batch(1, 1, length - overhead, false);
        var bytes = batch.Span.ToArray();
        batch.Release();
        Assert.Equal(length, bytes.Length);
        return bytes;
    }

    private static BatchBuffer CarvedBatch()
    {
        var batch = BatchBuffer.CopyOf(new ReadOnlySequence<byte>(s_batch), ordered: true);
        Assert.True(batch.IsCarved);
        return batch;
    }

    /// <summary>
    /// Leaves at least <paramref name="count"/> idle arrays that a copy of <see cref="BatchBytes"/> takes (its size class
    /// or the next), so that each copy lowers the pool's idle bytes by its array and each copy released raises them back;
    /// returns the idle bytes.
    /// </summary>
    private static long PoolWithIdleArrays(int count)
    {
        var warm = Enumerable.Range(0, count).Select(_ => BatchBuffer.Rent(BatchBytes)).ToArray();
        long arrays = warm.Sum(ArrayBytes);
        long before = BatchArrayPool.IdleBytes;
        foreach (var batch in warm) batch.Release();
        long idle = BatchArrayPool.IdleBytes;
        Assert.Equal(before + arrays, idle); // else the pool was at its bound, and these checks would prove nothing
        return idle;
    }

    private static long ArrayBytes(BatchBuffer batch)
    {
        Assert.True(MemoryMarshal.TryGetArray(batch.Memory, out var segment));
        return segment.Array!.Length;
    }

    private static bool Enqueue(OutboundQueue queue, bool forPump, Envelope message)
    {
        if (!forPump) return queue.TryEnqueue(message);
        long dropped = queue.Dropped;
        queue.TryEnqueueForPump(message); // true only for the first since the last pump
        return queue.Dropped == dropped;
    }

    /// <summary>
    /// A peer that takes one message per <see cref="CompleteFlush"/>: every write is over the queue's flush budget, so the
    /// drain flushes after each message and waits until the test completes that flush. Bytes are discarded.
    /// </summary>
    private sealed class OneFlushAtATimeWriter : PipeWriter
    {
        private byte[] _buffer = new byte[128 << 10];
        private TaskCompletionSource<FlushResult>? _held;
        private int _flushes;

        public override bool CanGetUnflushedBytes => true;
        public override long UnflushedBytes => 1L << 30;
        public override void Advance(int bytes) { }
        public override Memory<byte> GetMemory(int sizeHint = 0) => Buffer(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => Buffer(sizeHint);
        public override void CancelPendingFlush() { }
        public override void Complete(Exception? exception = null) { }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Assert.Null(_held);
            _held = new TaskCompletionSource<FlushResult>();
            Interlocked.Increment(ref _flushes);
            return new ValueTask<FlushResult>(_held.Task);
        }

        /// <summary>Completes the held flush (as a pipe whose reader ended when <paramref name="connectionEnded"/>); returns
        /// once <paramref name="drain"/> wrote the next message and waits on its flush, or ended.</summary>
        public void CompleteFlush(Task drain, bool connectionEnded = false)
        {
            int flushes = Volatile.Read(ref _flushes);
            var held = Interlocked.Exchange(ref _held, null);
            Assert.NotNull(held);
            held.SetResult(new FlushResult(isCanceled: false, isCompleted: connectionEnded)); // the drain usually goes on inline
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref _flushes) > flushes || drain.IsCompleted, Guard), "the drain did not go on");
        }

        private byte[] Buffer(int sizeHint)
        {
            if (sizeHint > _buffer.Length) _buffer = new byte[sizeHint];
            return _buffer;
        }
    }
}
