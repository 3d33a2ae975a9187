using System.Buffers;
using static AtomicBcast.Wire.Body;

namespace AtomicBcast.Wire;

// Readers of the messages that carry batch bytes. They return the fixed fields and hand the batch out as a slice
// of the frame body: valid until the pipe advances, never copied here. The batch's header and CRC are checked.
public static partial class MessageReader
{
    public static AcceptHeader ReadAccept(in Frame frame, out ReadOnlySequence<byte> batch)
    {
        Expect(frame, MessageType.Accept);
        var body = frame.Body;
        var b = Prefix(body, stackalloc byte[MessageLayout.AcceptFixedBytes]);
        var header = new AcceptHeader(new Ballot(U64(b, 0)), I64(b, 8), I64(b, 16));
        batch = body.Slice(MessageLayout.AcceptFixedBytes);
        VerifyBatch(batch);
        return header;
    }

    public static FetchReplyHeader ReadFetchReply(in Frame frame, out ReadOnlySequence<byte> batch)
    {
        Expect(frame, MessageType.FetchReply);
        var body = frame.Body;
        var b = Prefix(body, stackalloc byte[MessageLayout.FetchReplyFixedBytes]);
        var status = (FetchStatus)b[16];
        if (!Enum.IsDefined(status)) WireException.Throw($"unknown fetch status {b[16]}");
        var header = new FetchReplyHeader(I64(b, 0), new Ballot(U64(b, 8)), status);
        batch = body.Slice(MessageLayout.FetchReplyFixedBytes);
        if (status == FetchStatus.Chosen) VerifyBatch(batch);
        else if (!batch.IsEmpty) WireException.Throw($"{status} fetch reply with {batch.Length} trailing bytes");
        return header;
    }

    /// <summary>The run of a publish frame (run header included, exactly as it goes into a batch). Checks the run
    /// header against the body and walks every message length, so a run that passes can be appended to a batch as is.</summary>
    public static RunHeader ReadPublish(in Frame frame, out ReadOnlySequence<byte> run)
    {
        Expect(frame, MessageType.Publish);
        run = frame.Body;
        var b = Prefix(run, stackalloc byte[Limits.RunHeaderBytes]);
        var header = new RunHeader(U64(b, 0), U64(b, 8), I32(b, 16), I32(b, 20));
        if (header.Count <= 0) WireException.Throw($"run count {header.Count} is not positive");
        if (header.Bytes != run.Length - Limits.RunHeaderBytes)
            WireException.Throw($"run bytes {header.Bytes} disagree with the {run.Length - Limits.RunHeaderBytes} bytes of the frame");
        if (header.Bytes < header.Count) WireException.Throw($"run bytes {header.Bytes} too few for {header.Count} messages");
        if (run.Length > Limits.BatchBytesMax) WireException.Throw($"run of {run.Length} bytes does not fit a batch");
        RunMessageReader.Validate(run.Slice(Limits.RunHeaderBytes), header.Count);
        return header;
    }

    /// <summary>A deliver frame: <paramref name="skippedRuns"/> holds SkippedRunCount u16 run indexes (strictly
    /// ascending, each below the batch's run count; read them with <see cref="CopySkippedRuns"/>).</summary>
    public static DeliverHeader ReadDeliver(in Frame frame, out ReadOnlySequence<byte> skippedRuns, out ReadOnlySequence<byte> batch)
    {
        Expect(frame, MessageType.Deliver);
        var body = frame.Body;
        var b = Prefix(body, stackalloc byte[MessageLayout.DeliverFixedBytes]);
        int skippedCount = I32(b, 16);
        if ((uint)skippedCount > MessageLayout.SkippedRunsMax || MessageLayout.DeliverFixedBytes + 2L * skippedCount > body.Length)
            WireException.Throw($"deliver skipped-run count {skippedCount} disagrees with the {body.Length}-byte body");
        var header = new DeliverHeader(I64(b, 0), I64(b, 8), skippedCount);
        skippedRuns = body.Slice(MessageLayout.DeliverFixedBytes, 2 * skippedCount);
        batch = body.Slice(MessageLayout.DeliverFixedBytes + 2 * skippedCount);
        var batchHeader = VerifyBatch(batch);
        CheckSkippedRuns(skippedRuns, batchHeader.RunCount);
        return header;
    }

    /// <summary>Copies the skipped run indexes of a deliver frame into <paramref name="destination"/>; returns how many.</summary>
    public static int CopySkippedRuns(in ReadOnlySequence<byte> skippedRuns, Span<ushort> destination)
    {
        var reader = new SequenceReader<byte>(skippedRuns);
        int n = 0;
        while (reader.TryReadLittleEndian(out short index))
            destination[n++] = (ushort)index;
        if (!reader.End) WireException.ThrowTruncated("skipped runs");
        return n;
    }

    private static void CheckSkippedRuns(in ReadOnlySequence<byte> skippedRuns, int runCount)
    {
        var reader = new SequenceReader<byte>(skippedRuns);
        int previous = -1;
        while (reader.TryReadLittleEndian(out short value))
        {
            int index = (ushort)value;
            if (index <= previous || index >= runCount)
                WireException.Throw($"skipped run {index} not ascending or not below the batch's {runCount} runs");
            previous = index;
        }
    }
}
