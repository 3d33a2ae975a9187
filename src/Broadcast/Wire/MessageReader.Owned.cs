using System.Buffers;

namespace AtomicBcast.Wire;

// Owned messages for tests and cold paths: the batch bytes are copied into a new BatchBuffer (one reference,
// which the caller owns and must Release). The hot path uses the in-place readers instead. ordered: the batches go
// where a member keeps them in order (a peer's frames: see BatchBuffer.Rent), never for frames a client sent.
public static partial class MessageReader
{
    public static AcceptMessage ReadAcceptMessage(in Frame frame, bool ordered = false)
    {
        var header = ReadAccept(frame, out var batch);
        return new AcceptMessage(header.Ballot, header.Instance, header.CommitUpTo, BatchBuffer.CopyOf(batch, ordered));
    }

    public static FetchReplyMessage ReadFetchReplyMessage(in Frame frame, bool ordered = false)
    {
        var header = ReadFetchReply(frame, out var batch);
        return new FetchReplyMessage(header.Instance, header.Ballot, header.Status,
            header.Status == FetchStatus.Chosen ? BatchBuffer.CopyOf(batch, ordered) : null);
    }

    public static PublishMessage ReadPublishMessage(in Frame frame)
    {
        var header = ReadPublish(frame, out var run);
        return new PublishMessage(header.ProducerId, header.FirstSeq, header.Count, BatchBuffer.CopyOf(run));
    }

    public static DeliverMessage ReadDeliverMessage(in Frame frame)
    {
        var header = ReadDeliver(frame, out var skippedRuns, out var batch);
        var skipped = new ushort[header.SkippedRunCount];
        CopySkippedRuns(skippedRuns, skipped);
        return new DeliverMessage(header.FirstPosition, header.Instance, skipped, BatchBuffer.CopyOf(batch));
    }

    public static PromiseMessage ReadPromiseMessage(in Frame frame, bool ordered = false)
    {
        var header = ReadPromise(frame, out var reader);
        var records = new PromiseRecord[header.RecordCount];
        for (int i = 0; reader.TryRead(out var record, out var batch); i++)
            records[i] = new PromiseRecord(record.Instance, record.AcceptedBallot, BatchBuffer.CopyOf(batch, ordered));
        return new PromiseMessage(header.Ballot, header.FromInstance, header.Last, records);
    }

    /// <summary>Any frame as its owned message, in an <see cref="Envelope"/>: no heap object for the frequent types (a member's
    /// hot path), but the batch copy.</summary>
    internal static Envelope ReadEnvelope(in Frame frame, bool ordered = false) => frame.Type switch
    {
        MessageType.Hello => ReadHello(frame),
        MessageType.Error => ReadError(frame),
        MessageType.PreVote => ReadPreVote(frame),
        MessageType.PreVoteReply => ReadPreVoteReply(frame),
        MessageType.Prepare => ReadPrepare(frame),
        MessageType.Promise => ReadPromiseMessage(frame, ordered),
        MessageType.Accept => ReadAcceptMessage(frame, ordered),
        MessageType.Accepted => ReadAccepted(frame),
        MessageType.Rejected => ReadRejected(frame),
        MessageType.Heartbeat => ReadHeartbeat(frame),
        MessageType.Fetch => ReadFetch(frame),
        MessageType.FetchReply => ReadFetchReplyMessage(frame, ordered),
        MessageType.Checkpoint => ReadCheckpoint(frame),
        MessageType.Publish => ReadPublishMessage(frame),
        MessageType.PublishAck => ReadPublishAck(frame),
        MessageType.Subscribe => ReadSubscribe(frame),
        MessageType.Deliver => ReadDeliverMessage(frame),
        MessageType.StatusRequest => ReadStatusRequest(frame),
        MessageType.StatusReply => ReadStatusReply(frame),
        _ => throw new WireException($"unknown frame type {(byte)frame.Type}"),
    };

    /// <summary>Any frame as its owned message struct, boxed (tests, tools, logging; never the hot path).</summary>
    public static object ReadOwned(in Frame frame, bool ordered = false) => ReadEnvelope(frame, ordered).ToObject();
}
