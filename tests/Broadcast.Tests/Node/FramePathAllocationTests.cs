using System.Buffers;
using System.Threading.Channels;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Wire;
using Xunit.Abstractions;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// A member's path for each frequent frame, as its reader and loop take it: read the frame as an
/// <see cref="Envelope"/> (a peer's batch carved in order), post it through a bounded channel of
/// <see cref="LoopEvent"/>s, take it on the other side, queue it to an <see cref="OutboundQueue"/> for the pump, release
/// the reader's reference; one pump per round writes what was queued. Each frame is also written back on its own and
/// compared with what was read. Allocation is counted on the test's own thread; reading peer frames carves from the
/// process-wide arena, so this runs in the non-parallel collection.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class FramePathAllocationTests(ITestOutputHelper output)
{
    /// <summary>Once warm, nothing at all is allocated; boxing the same frame (the path before envelopes) does allocate,
    /// which shows the count can see it.</summary>
    [Fact]
    public async Task TheFrequentFramesGoFromReaderToQueueWithoutAllocating()
    {
        var ballot = Ballot.Create(3, 1);
        var run = Wire.Samples.Publish(9, 1, [Payload(64, 1)]);
        var accept = new AcceptMessage(ballot, 10, 9, Batch(1, 16, 64, false));
        var frames = new ReadOnlySequence<byte>( // one segment: FirstSpan is all of it
            [.. Encode(accept), .. Encode(new AcceptedMessage(ballot, 10, 12)), .. Encode(new HeartbeatMessage(ballot, 12)),
             .. Encode(run), .. Encode(new PublishAckMessage(9, 1, 1, PublishStatus.Committed, 77, 2, 1))]);
        var path = new FramePath();
        using var stop = new CancellationTokenSource();
        var drain = path.Queue.DrainAsync(new PipeConnection(new DiscardingWriter()), stop.Token);

        int wrongRounds = path.PassAll(frames, rounds: 2_000); // warm: the pools, the arena's slab, the queue's ring
        // Passes of 10,000 rounds (50,000 frames): the first after the warm-up may still see the JIT's tiering; a later
        // one must allocate nothing at all.
        var allocated = new long[4];
        for (int pass = 0; pass < allocated.Length; pass++)
        {
            long passStart = GC.GetAllocatedBytesForCurrentThread();
            wrongRounds += path.PassAll(frames, rounds: 10_000);
            allocated[pass] = GC.GetAllocatedBytesForCurrentThread() - passStart;
        }
        output.WriteLine($"bytes allocated per pass of 50,000 frames: {string.Join(", ", allocated)}");
        Assert.Equal(0, wrongRounds);
        Assert.Equal(0, path.Queue.Dropped);
        Assert.Equal(0, allocated.Min());

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(FrameCodec.TryReadFrame(ref frames, out var first));
        var boxed = MessageReader.ReadOwned(first, ordered: true);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before > 0, "boxing the same frame allocates (the count sees it)");
        OwnedFrames.Release(Envelope.FromObject(boxed));

        path.Queue.Complete();
        await drain.WaitAsync(OutboundQueueTestKit.Guard);
        accept.Batch.Release();
        run.Run.Release();
    }

    private sealed class FramePath
    {
        public readonly OutboundQueue Queue = new(16384);
        private readonly Channel<LoopEvent> _events =
            Channel.CreateBounded<LoopEvent>(new BoundedChannelOptions(1024) { SingleReader = true });
        private readonly ArrayBufferWriter<byte> _written = new(1 << 16);

        /// <summary>Rounds whose frames were not all written back whole: counted, not asserted (xUnit's Assert.Equal
        /// allocates a comparer).</summary>
        public int PassAll(ReadOnlySequence<byte> frames, int rounds)
        {
            int wrongRounds = 0;
            for (int round = 0; round < rounds; round++)
            {
                var buffer = frames;
                _written.ResetWrittenCount();
                while (FrameCodec.TryReadFrame(ref buffer, out var frame))
                {
                    if (!_events.Writer.TryWrite(LoopEvent.PeerMessage(2, MessageReader.ReadEnvelope(frame, ordered: true)))) wrongRounds++;
                    if (!_events.Reader.TryRead(out var loopEvent)) { wrongRounds++; continue; }
                    var message = loopEvent.Message;
                    MessageWriter.Write(_written, message);
                    Queue.TryEnqueueForPump(message);
                    OwnedFrames.Release(message);
                }
                Queue.Pump();
                if (_written.WrittenCount != frames.Length || !_written.WrittenSpan.SequenceEqual(frames.FirstSpan)) wrongRounds++;
            }
            return wrongRounds;
        }
    }
}
