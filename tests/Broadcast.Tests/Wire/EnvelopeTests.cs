using System.Buffers;
using AtomicBcast.Client;
using AtomicBcast.Wire;
using Xunit.Abstractions;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary>
/// <see cref="Envelope"/>: every message goes in and comes out unchanged, and the frequent ones go through a member's
/// frame path (read, queue, write, release) without a heap object. Allocation is counted on the test's own thread, but
/// reading peer frames carves from the process-wide arena: these run in the non-parallel collection.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class EnvelopeTests(ITestOutputHelper testOutput)
{
    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EveryMessageComesOutOfItsEnvelopeAsItWentIn(string name)
    {
        var message = Samples.SmallByName(name);
        var envelope = Envelope.FromObject(message);
        Assert.Equal((MessageType)Encode(message)[4], envelope.Type); // the frame header's type byte
        Assert.Equal(message, envelope.ToObject());
    }

    /// <summary>The inline types' fields at their extremes: every bit of every field is kept (a field narrowed or mixed up
    /// with another would show here; the samples' round trips go through envelopes both ways and could not tell).</summary>
    [Fact]
    public void InlineFieldsKeepTheirExtremeValues()
    {
        var top = new Ballot(ulong.MaxValue);
        var next = new Ballot(ulong.MaxValue - 1);
        var batch = Batch(1, 1, 1, false);
        object[] messages =
        [
            new PreVoteMessage(top, long.MinValue, long.MaxValue),
            new PreVoteReplyMessage(top, true, long.MinValue),
            new PrepareMessage(top, long.MaxValue),
            new AcceptMessage(top, long.MaxValue, long.MinValue, batch),
            new AcceptedMessage(top, long.MinValue, long.MaxValue),
            new RejectedMessage(top, long.MinValue, next),
            new HeartbeatMessage(next, long.MaxValue),
            new FetchMessage(long.MinValue, int.MaxValue, int.MinValue),
            new FetchMessage(long.MaxValue, int.MinValue, int.MaxValue),
            new FetchReplyMessage(long.MinValue, top, (FetchStatus)byte.MaxValue, batch),
            new PublishMessage(ulong.MaxValue, ulong.MaxValue - 1, int.MinValue, batch),
            new PublishAckMessage(ulong.MaxValue, ulong.MaxValue - 1, int.MaxValue, (PublishStatus)byte.MaxValue, long.MinValue,
                ulong.MaxValue - 2, ushort.MaxValue),
            new PublishAckMessage(0, 1, int.MinValue, 0, long.MaxValue, 0, 1),
            new SubscribeMessage(long.MinValue),
        ];
        foreach (var message in messages) Assert.Equal(message, Envelope.FromObject(message).ToObject());
        batch.Release();
    }

    [Fact]
    public void AnAccessorOfAnotherTypeThrows()
    {
        Envelope heartbeat = new HeartbeatMessage(Ballot.Create(1, 1), 5);
        var e = Assert.Throws<InvalidOperationException>(() => heartbeat.AsAccept());
        Assert.Contains("AsAccept", e.Message);
        Assert.Contains("Heartbeat", e.Message);
        Envelope promise = new PromiseMessage(Ballot.Create(1, 1), 0, true, []);
        Assert.Throws<InvalidOperationException>(() => promise.AsPrepare());
        Assert.Throws<InvalidOperationException>(() => default(Envelope).ToObject());
        Assert.Throws<ArgumentException>(() => Envelope.FromObject("not a message"));
    }

    [Fact]
    public void OnlyTheInlineBatchIsExposedAsOne()
    {
        var batch = Batch(1, 1, 1, false);
        Assert.Same(batch, ((Envelope)new AcceptMessage(Ballot.Create(1, 1), 1, 0, batch)).InlineBatch);
        Assert.Same(batch, ((Envelope)new PublishMessage(1, 1, 1, batch)).InlineBatch);
        Assert.Same(batch, ((Envelope)new FetchReplyMessage(1, Ballot.Create(1, 1), FetchStatus.Chosen, batch)).InlineBatch);
        Assert.Null(((Envelope)new FetchReplyMessage(1, Ballot.Zero, FetchStatus.Unknown, null)).InlineBatch);
        // A delivery's batch is reached through the boxed message, never taken for an inline one.
        Assert.Null(((Envelope)new DeliverMessage(0, 1, [], batch)).InlineBatch);
        Assert.Null(((Envelope)new HeartbeatMessage(Ballot.Create(1, 1), 5)).InlineBatch);
        batch.Release();
    }

    /// <summary>
    /// A member's path for each frequent frame: read it as an envelope (a peer's batches carved in order), write it out
    /// again as the outbound queues do, and release it. Once warm this allocates nothing on the thread; boxing the same
    /// messages (the path before envelopes) does, which shows the count can see it.
    /// </summary>
    [Fact]
    public void TheFrequentFramesGoThroughReadWriteAndReleaseWithoutAllocating()
    {
        var ballot = Ballot.Create(3, 1);
        var run = Samples.Publish(9, 1, [Payload(64, 1)]);
        var accept = new AcceptMessage(ballot, 10, 9, Batch(1, 16, 64, false));
        var frames = new ReadOnlySequence<byte>( // one segment: FirstSpan is all of it
            [.. Encode(accept), .. Encode(new AcceptedMessage(ballot, 10, 12)), .. Encode(new HeartbeatMessage(ballot, 12)),
             .. Encode(run), .. Encode(new PublishAckMessage(9, 1, 1, PublishStatus.Committed, 77, 2, 1))]);
        var output = new ArrayBufferWriter<byte>(1 << 16);

        int wrongRounds = PassAll(frames, output, rounds: 2_000); // warm: the pools and the arena's slab
        // Passes of 10,000 rounds (50,000 frames): the first after the warm-up may still see the JIT's tiering; a later
        // one must allocate nothing at all.
        var allocated = new long[4];
        for (int pass = 0; pass < allocated.Length; pass++)
        {
            long passStart = GC.GetAllocatedBytesForCurrentThread();
            wrongRounds += PassAll(frames, output, rounds: 10_000);
            allocated[pass] = GC.GetAllocatedBytesForCurrentThread() - passStart;
        }
        testOutput.WriteLine($"bytes allocated per pass of 50,000 frames: {string.Join(", ", allocated)}");
        Assert.Equal(0, wrongRounds);
        Assert.Equal(0, allocated.Min());

        long before = GC.GetAllocatedBytesForCurrentThread();
        var boxed = MessageReader.ReadOwned(FirstFrame(frames), ordered: true);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before > 0, "boxing the same frame allocates (the count sees it)");
        OwnedFrames.Release(Envelope.FromObject(boxed));
        accept.Batch.Release();
        run.Run.Release();
    }

    /// <summary>Rounds whose frames were not all written back whole: counted, not asserted (xUnit's Assert.Equal
    /// allocates a comparer).</summary>
    private static int PassAll(ReadOnlySequence<byte> frames, ArrayBufferWriter<byte> output, int rounds)
    {
        int wrongRounds = 0;
        for (int round = 0; round < rounds; round++)
        {
            var buffer = frames;
            output.ResetWrittenCount();
            while (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                var envelope = MessageReader.ReadEnvelope(frame, ordered: true);
                MessageWriter.Write(output, envelope);
                OwnedFrames.Release(envelope);
            }
            if (output.WrittenCount != frames.Length || !output.WrittenSpan.SequenceEqual(frames.FirstSpan)) wrongRounds++;
        }
        return wrongRounds;
    }

    private static Frame FirstFrame(ReadOnlySequence<byte> frames)
    {
        Assert.True(FrameCodec.TryReadFrame(ref frames, out var frame));
        return frame;
    }
}
