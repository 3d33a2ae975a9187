using AtomicBcast.Client;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Client;

/// <summary>
/// <see cref="OwnedFrames.RetainDetached"/>: what a lagging queue keeps instead of a carved batch. Carving moves the
/// process-wide arena: these run in the non-parallel collection, as the arena's own tests do.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class OwnedFramesDetachTests
{
    private static readonly Ballot Ballot1 = Ballot.Create(1, 1);

    [Fact]
    public void RetainDetachedCopiesEveryCarvedBatchAndLeavesTheCallersReferences()
    {
        var carved = Batch(5_000, ordered: true, seed: 1);
        var unordered = Batch(3_000, ordered: false, seed: 2);
        var carved2 = Batch(7_000, ordered: true, seed: 5);
        object[] messages =
        [
            new AcceptMessage(Ballot1, 7, 6, carved),
            new FetchReplyMessage(7, Ballot1, FetchStatus.Chosen, carved),
            new DeliverMessage(100, 7, [1], carved),
            new PublishMessage(9, 1, 1, carved),
            new PromiseMessage(Ballot1, 7, true,
                [new PromiseRecord(7, Ballot1, carved), new PromiseRecord(8, Ballot1, unordered), new PromiseRecord(9, Ballot1, carved2)]),
        ];
        foreach (var message in messages)
        {
            var envelope = Envelope.FromObject(message);
            long carvedBytes = OwnedFrames.CarvedBytes(envelope);
            var keptEnvelope = OwnedFrames.RetainDetached(envelope, out long copiedBytes);
            Assert.Equal(envelope.Type, keptEnvelope.Type);
            var kept = keptEnvelope.ToObject();
            Assert.NotEqual(message, kept); // its batches (or records array) are others
            // What was copied, known before copying: the carved batches' bytes.
            Assert.Equal(message is PromiseMessage ? carved.Length + carved2.Length : carved.Length, carvedBytes);
            Assert.Equal(carvedBytes, copiedBytes);
            Assert.Equal(message.GetType(), kept.GetType());
            var (original, copies) = (BatchesOf(message), BatchesOf(kept));
            Assert.Equal(original.Length, copies.Length);
            for (int i = 0; i < original.Length; i++)
            {
                Assert.False(copies[i].IsCarved, $"{message.GetType().Name}: batch {i} is still carved");
                Assert.True(copies[i].Span.SequenceEqual(original[i].Span), $"{message.GetType().Name}: batch {i} differs");
                if (original[i].IsCarved)
                {
                    Assert.NotSame(original[i], copies[i]);
                    Assert.Equal(1, copies[i].References); // the holder's own
                }
                else Assert.Same(original[i], copies[i]); // retained, not copied
            }
            Assert.Equal(1, carved.References); // as if nobody held the message
            Assert.Equal(message is PromiseMessage ? 2 : 1, unordered.References);
            // The fields other than the batches are the caller's, and the caller's message is untouched.
            if (message is PromiseMessage promise) AssertSameRecords(promise, (PromiseMessage)kept, carved);
            else Assert.Equal(message, Rebatched(kept, original));

            OwnedFrames.Release(keptEnvelope);
            Assert.Equal(1, carved.References);
            Assert.Equal(1, unordered.References);
            Assert.Equal(1, carved2.References);
        }
        carved.Release();
        unordered.Release();
        carved2.Release();
    }

    [Fact]
    public void RetainDetachedRetainsWhatIsNotCarvedAndCopiesNothing()
    {
        var unordered = Batch(5_000, ordered: false, seed: 3);
        var large = Batch(BatchArena.CarveBytesMax + 1, ordered: true, seed: 4); // ordered, but too large to be carved
        object[] messages =
        [
            new AcceptMessage(Ballot1, 7, 6, unordered),
            new AcceptMessage(Ballot1, 8, 6, large),
            new FetchReplyMessage(7, Ballot1, FetchStatus.Unknown, null),
            new HeartbeatMessage(Ballot1, 6),
            new PromiseMessage(Ballot1, 7, true, [new PromiseRecord(7, Ballot1, unordered)]),
        ];
        foreach (var message in messages)
        {
            var envelope = Envelope.FromObject(message);
            Assert.Equal(0, OwnedFrames.CarvedBytes(envelope));
            Assert.Equal(message, OwnedFrames.RetainDetached(envelope, out long copiedBytes).ToObject()); // the same batches
            Assert.Equal(0, copiedBytes);
            Assert.Equal(message is AcceptMessage { Instance: 8 } ? 1 : ReferencesTaken(message, unordered), unordered.References);
            OwnedFrames.Release(envelope);
            Assert.Equal(1, unordered.References);
            Assert.Equal(1, large.References);
        }
        unordered.Release();
        large.Release();
    }

    private static int ReferencesTaken(object message, BatchBuffer batch) => 1 + BatchesOf(message).Count(b => ReferenceEquals(b, batch));

    private static BatchBuffer Batch(int length, bool ordered, int seed)
    {
        var batch = BatchBuffer.Rent(length, ordered);
        Assert.Equal(ordered && length <= BatchArena.CarveBytesMax, batch.IsCarved);
        for (int i = 0; i < length; i++) batch.WritableSpan[i] = (byte)(i * seed + seed);
        return batch;
    }

    private static BatchBuffer[] BatchesOf(object message) => message switch
    {
        AcceptMessage m => [m.Batch],
        FetchReplyMessage { Batch: { } batch } => [batch],
        DeliverMessage m => [m.Batch],
        PublishMessage m => [m.Run],
        PromiseMessage m => m.Records.Select(r => r.Batch).ToArray(),
        _ => [],
    };

    /// <summary><paramref name="message"/> with <paramref name="batches"/> put back in place of its own.</summary>
    private static object Rebatched(object message, BatchBuffer[] batches) => message switch
    {
        AcceptMessage m => m with { Batch = batches[0] },
        FetchReplyMessage m => m with { Batch = batches[0] },
        DeliverMessage m => m with { Batch = batches[0] },
        PublishMessage m => m with { Run = batches[0] },
        _ => message,
    };

    // Record equality would compare the records arrays by reference: the copy must have its own.
    private static void AssertSameRecords(PromiseMessage caller, PromiseMessage kept, BatchBuffer carved)
    {
        Assert.NotSame(caller.Records, kept.Records);
        Assert.Equal((caller.Ballot, caller.FromInstance, caller.Last), (kept.Ballot, kept.FromInstance, kept.Last));
        Assert.Equal(caller.Records.Select(r => (r.Instance, r.AcceptedBallot)), kept.Records.Select(r => (r.Instance, r.AcceptedBallot)));
        Assert.Same(carved, caller.Records[0].Batch);
    }
}
