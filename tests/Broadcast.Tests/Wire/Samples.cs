using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

/// <summary>One or more instances of every message type: typical, empty and extreme field values.</summary>
internal static class Samples
{
    private static readonly Ballot s_ballot = Ballot.Create(42, 3);

    /// <summary>Frames small enough to split at every byte.</summary>
    public static IEnumerable<(string Name, object Message)> Small()
    {
        yield return ("hello", new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, 7, "cluster-a"));
        yield return ("hello-empty-id", new HelloMessage(0, PeerKind.Subscriber, 0, ""));
        yield return ("error", new ErrorMessage(ErrorCode.NotLeader, "not the leader; try node 2 (ünïcode)"));
        yield return ("error-empty", new ErrorMessage(ErrorCode.None, ""));
        yield return ("prevote", new PreVoteMessage(s_ballot, 1000, 998));
        yield return ("prevote-extremes", new PreVoteMessage(new Ballot(ulong.MaxValue), long.MaxValue, long.MinValue));
        yield return ("prevote-reply", new PreVoteReplyMessage(s_ballot, true, 55));
        yield return ("prevote-reply-no", new PreVoteReplyMessage(Ballot.Zero, false, -1));
        yield return ("prepare", new PrepareMessage(s_ballot, 17));
        yield return ("promise-empty", new PromiseMessage(s_ballot, 10, true, []));
        yield return ("promise-3", new PromiseMessage(s_ballot, 10, false,
            [new(10, Ballot.Create(1, 1), BatchCodec.CreateNoOp()), new(11, Ballot.Create(2, 1), WireTestKit.Batch(2, 3, 5, false)),
             new(15, Ballot.Create(2, 2), WireTestKit.Batch(1, 40, 30, true))]));
        yield return ("accept-noop", new AcceptMessage(s_ballot, 0, -1, BatchCodec.CreateNoOp()));
        yield return ("accept", new AcceptMessage(s_ballot, 99, 97, WireTestKit.Batch(3, 4, 10, false)));
        yield return ("accept-lz4", new AcceptMessage(s_ballot, 100, 99, WireTestKit.Batch(2, 20, 40, true)));
        yield return ("accepted", new AcceptedMessage(s_ballot, 5, 9));
        yield return ("rejected", new RejectedMessage(s_ballot, 5, Ballot.Create(43, 1)));
        yield return ("heartbeat", new HeartbeatMessage(s_ballot, -1));
        yield return ("fetch", new FetchMessage(123, 64, 1 << 20));
        yield return ("fetch-reply-chosen", new FetchReplyMessage(123, s_ballot, FetchStatus.Chosen, WireTestKit.Batch(1, 2, 0, false)));
        yield return ("fetch-reply-trimmed", new FetchReplyMessage(50, Ballot.Zero, FetchStatus.Trimmed, null));
        yield return ("fetch-reply-unknown", new FetchReplyMessage(124, Ballot.Zero, FetchStatus.Unknown, null));
        yield return ("checkpoint-empty", new CheckpointMessage(0, 0, []));
        yield return ("checkpoint", new CheckpointMessage(1023, 98765, [new(7, 12, 1000), new(9, 1, 0), new(ulong.MaxValue, ulong.MaxValue, 1023)]));
        yield return ("publish-empty-message", Publish(9, 1, [[]]));
        yield return ("publish", Publish(9, 5, [WireTestKit.Payload(3, 1), WireTestKit.Payload(200, 2), WireTestKit.Payload(0, 3)]));
        yield return ("publish-anonymous", Publish(0, 77, [WireTestKit.Payload(130, 4)]));
        foreach (var status in Enum.GetValues<PublishStatus>())
            yield return ($"publish-ack-{status}", new PublishAckMessage(9, 5, 3, status, status == PublishStatus.Committed ? 1234 : -1, 8, 2));
        yield return ("subscribe", new SubscribeMessage(0));
        yield return ("subscribe-far", new SubscribeMessage(long.MaxValue));
        yield return ("deliver", new DeliverMessage(1000, 77, [], WireTestKit.Batch(3, 2, 8, false)));
        yield return ("deliver-skipped", new DeliverMessage(1000, 78, [0, 2], WireTestKit.Batch(3, 2, 8, false)));
        yield return ("deliver-noop", new DeliverMessage(1006, 79, [], BatchCodec.CreateNoOp()));
        yield return ("status-request", new StatusRequestMessage());
        yield return ("status-reply", new StatusReplyMessage(3, MemberRole.Leader, false, 3, s_ballot, 1000, 999, 123_456, 1L << 33, 990, 17,
            new ProcessFigures(2_500, 10, 2, 0, 1L << 32, 200L << 20)));
        yield return ("status-reply-extremes", new StatusReplyMessage(ushort.MaxValue, MemberRole.PreCandidate, true, 0, new Ballot(ulong.MaxValue),
            long.MaxValue, -1, long.MinValue, 0, long.MaxValue, long.MaxValue, ProcessFigures.Unknown));
    }

    /// <summary>The largest legal body of each type that has a variable size.</summary>
    public static IEnumerable<(string Name, object Message)> Large()
    {
        var max = WireTestKit.MaxBatch();
        yield return ("hello-max-id", new HelloMessage(1, PeerKind.Publisher, ushort.MaxValue, new string('c', Limits.ClusterIdBytesMax)));
        yield return ("error-max-text", new ErrorMessage(ErrorCode.Internal, new string('e', Limits.ErrorTextBytesMax)));
        yield return ("accept-max", new AcceptMessage(s_ballot, 1, 0, max));
        yield return ("fetch-reply-max", new FetchReplyMessage(1, s_ballot, FetchStatus.Chosen, max));
        yield return ("deliver-max", new DeliverMessage(0, 1, [1, 3], max));
        yield return ("promise-max-batch", new PromiseMessage(s_ballot, 1, true, [new(1, s_ballot, max)]));
        yield return ("promise-max-records", new PromiseMessage(s_ballot, 0, true,
            Enumerable.Range(0, Limits.PromiseChunkRecordsMax).Select(i => new PromiseRecord(i, s_ballot, BatchCodec.CreateNoOp())).ToArray()));
        yield return ("checkpoint-max-producers", new CheckpointMessage(long.MaxValue, long.MaxValue,
            Enumerable.Range(1, MessageLayout.CheckpointProducersMax).Select(i => new ProducerRecord((ulong)i, (ulong)i, i)).ToArray()));
        yield return ("publish-max-message", Publish(3, 1, [WireTestKit.Payload(Limits.MessageBytesMax, 5)]));
    }

    public static PublishMessage Publish(ulong producerId, ulong firstSeq, byte[][] payloads)
    {
        var memories = payloads.Select(p => (ReadOnlyMemory<byte>)p).ToArray();
        var run = BatchBuffer.Rent(RunWriter.Size(memories));
        RunWriter.Write(run.WritableSpan, producerId, firstSeq, memories);
        return new PublishMessage(producerId, firstSeq, payloads.Length, run);
    }

    public static TheoryData<string> SmallNames() => new(Small().Select(s => s.Name));
    public static TheoryData<string> LargeNames() => new(Large().Select(s => s.Name));
    public static object SmallByName(string name) => Small().Single(s => s.Name == name).Message;
    public static object LargeByName(string name) => Large().Single(s => s.Name == name).Message;
}
