using System.Buffers;
using System.Buffers.Binary;

namespace AtomicBcast.Wire;

// Messages that carry batch bytes. The fixed part goes through one GetSpan; the batch is then copied into the
// writer (IBufferWriter.Write splits it over as many spans as the writer hands out).
public static partial class MessageWriter
{
    public static void Write(IBufferWriter<byte> writer, in AcceptMessage message) =>
        WriteAccept(writer, message.Ballot, message.Instance, message.CommitUpTo, message.Batch.Span);

    public static void WriteAccept(IBufferWriter<byte> writer, Ballot ballot, long instance, long commitUpTo, ReadOnlySpan<byte> batch)
    {
        CheckBatch(batch);
        int body = MessageLayout.AcceptFixedBytes + batch.Length;
        // header(6) + ballot(8) + instance(8) + commitUpTo(8) = 30, then the batch
        var span = writer.GetSpan(FrameHeader + MessageLayout.AcceptFixedBytes);
        FrameCodec.WriteHeader(span, MessageType.Accept, 0, body);
        Put(span, 0, ballot.Value);
        Put(span, 8, instance);
        Put(span, 16, commitUpTo);
        writer.Advance(FrameHeader + MessageLayout.AcceptFixedBytes);
        writer.Write(batch);
    }

    public static void Write(IBufferWriter<byte> writer, in FetchReplyMessage message) =>
        WriteFetchReply(writer, message.Instance, message.Ballot, message.Status, message.Batch is null ? default : message.Batch.Span);

    /// <summary><paramref name="batch"/> must be a whole batch when status is Chosen and empty otherwise.</summary>
    public static void WriteFetchReply(IBufferWriter<byte> writer, long instance, Ballot ballot, FetchStatus status, ReadOnlySpan<byte> batch)
    {
        if (!Enum.IsDefined(status)) throw new ArgumentException($"unknown fetch status {status}", nameof(status));
        if (status == FetchStatus.Chosen) CheckBatch(batch);
        else if (!batch.IsEmpty) throw new ArgumentException($"a {status} fetch reply carries no batch", nameof(batch));
        int body = MessageLayout.FetchReplyFixedBytes + batch.Length;
        // header(6) + instance(8) + ballot(8) + status(1) = 23, then the batch
        var span = writer.GetSpan(FrameHeader + MessageLayout.FetchReplyFixedBytes);
        FrameCodec.WriteHeader(span, MessageType.FetchReply, 0, body);
        Put(span, 0, instance);
        Put(span, 8, ballot.Value);
        span[FrameHeader + 16] = (byte)status;
        writer.Advance(FrameHeader + MessageLayout.FetchReplyFixedBytes);
        writer.Write(batch);
    }

    public static void Write(IBufferWriter<byte> writer, in PublishMessage message)
    {
        var run = message.Run.Span;
        var header = RunHeader.Read(run);
        if (header.ProducerId != message.ProducerId || header.FirstSeq != message.FirstSeq || header.Count != message.Count)
            throw new ArgumentException("publish fields disagree with the run header", nameof(message));
        WritePublish(writer, run);
    }

    /// <summary>Writes a publish frame whose body is <paramref name="run"/> (run header + messages, as built by
    /// <see cref="RunWriter"/> or <see cref="BatchBuilder"/>). The run is not re-validated here; the receiver does.</summary>
    public static void WritePublish(IBufferWriter<byte> writer, ReadOnlySpan<byte> run)
    {
        if (run.Length < Limits.RunHeaderBytes) throw new ArgumentException("a run is at least its 24-byte header", nameof(run));
        CheckBody(run.Length);
        // header(6), then the run
        var span = writer.GetSpan(FrameHeader);
        FrameCodec.WriteHeader(span, MessageType.Publish, 0, run.Length);
        writer.Advance(FrameHeader);
        writer.Write(run);
    }

    public static void Write(IBufferWriter<byte> writer, in DeliverMessage message) =>
        WriteDeliver(writer, message.FirstPosition, message.Instance, message.SkippedRuns, message.Batch.Span);

    /// <summary><paramref name="skippedRuns"/>: indexes of the runs dropped by the exactly-once rule, strictly ascending.</summary>
    public static void WriteDeliver(IBufferWriter<byte> writer, long firstPosition, long instance, ReadOnlySpan<ushort> skippedRuns, ReadOnlySpan<byte> batch)
    {
        CheckBatch(batch);
        for (int i = 1; i < skippedRuns.Length; i++)
            if (skippedRuns[i] <= skippedRuns[i - 1]) throw new ArgumentException("skipped runs must be strictly ascending", nameof(skippedRuns));
        if (!skippedRuns.IsEmpty && skippedRuns[^1] >= BatchHeader.Read(batch).RunCount)
            throw new ArgumentException("a skipped run index is not below the batch's run count", nameof(skippedRuns));
        int fixedBytes = MessageLayout.DeliverFixedBytes + 2 * skippedRuns.Length;
        CheckBody((long)fixedBytes + batch.Length);
        // header(6) + firstPosition(8) + instance(8) + skippedCount(4) + 2 x skipped, then the batch
        var span = writer.GetSpan(FrameHeader + fixedBytes);
        FrameCodec.WriteHeader(span, MessageType.Deliver, 0, fixedBytes + batch.Length);
        Put(span, 0, firstPosition);
        Put(span, 8, instance);
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 16)..], skippedRuns.Length);
        var skipped = span[(FrameHeader + MessageLayout.DeliverFixedBytes)..];
        for (int i = 0; i < skippedRuns.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(skipped[(2 * i)..], skippedRuns[i]);
        writer.Advance(FrameHeader + fixedBytes);
        writer.Write(batch);
    }

    public static void Write(IBufferWriter<byte> writer, in PromiseMessage message) =>
        WritePromise(writer, message.Ballot, message.FromInstance, message.Last, message.Records);

    /// <summary>Writes one promise chunk. At most <see cref="Limits.PromiseChunkRecordsMax"/> records, instances strictly
    /// ascending and &gt;= fromInstance, all within one frame; <see cref="PromiseChunks"/> splits longer lists.</summary>
    public static void WritePromise(IBufferWriter<byte> writer, Ballot ballot, long fromInstance, bool last, ReadOnlySpan<PromiseRecord> records)
    {
        long bodyBytes = PromiseChunks.BodyBytes(fromInstance, records);
        CheckBody(bodyBytes);
        int body = (int)bodyBytes;
        // header(6) + ballot(8) + fromInstance(8) + last(1) + recordCount(4) = 27, then the records
        var span = writer.GetSpan(FrameHeader + MessageLayout.PromiseFixedBytes);
        FrameCodec.WriteHeader(span, MessageType.Promise, 0, body);
        Put(span, 0, ballot.Value);
        Put(span, 8, fromInstance);
        span[FrameHeader + 16] = last ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 17)..], records.Length);
        writer.Advance(FrameHeader + MessageLayout.PromiseFixedBytes);
        foreach (var record in records)
        {
            var batch = record.Batch.Span;
            // instance(8) + acceptedBallot(8) + batchBytes(4) = 20, then the batch
            var recordSpan = writer.GetSpan(MessageLayout.PromiseRecordFixedBytes);
            BinaryPrimitives.WriteInt64LittleEndian(recordSpan, record.Instance);
            BinaryPrimitives.WriteUInt64LittleEndian(recordSpan[8..], record.AcceptedBallot.Value);
            BinaryPrimitives.WriteInt32LittleEndian(recordSpan[16..], batch.Length);
            writer.Advance(MessageLayout.PromiseRecordFixedBytes);
            writer.Write(batch);
        }
    }
}
