using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace AtomicBcast.Wire;

/// <summary>
/// Body layouts of every frame type (after the 6-byte frame header; all integers little-endian, frame flags 0).
/// <code>
/// Error         code u16 | textBytes u16 | text (UTF-8, at most Limits.ErrorTextBytesMax)
/// PreVote       ballot u64 | logEnd i64 | commitUpTo i64                                   = 24
/// PreVoteReply  ballot u64 | granted u8 (0/1) | logEnd i64                                  = 17
/// Prepare       ballot u64 | fromInstance i64                                              = 16
/// Promise       ballot u64 | fromInstance i64 | last u8 | recordCount u32 | records       = 21 + records
///               record: instance i64 | acceptedBallot u64 | batchBytes u32 | batch        = 20 + batch
/// Accept        ballot u64 | instance i64 | commitUpTo i64 | batch (rest of the body)      = 24 + batch
/// Accepted      ballot u64 | firstInstance i64 | lastInstance i64                          = 24
/// Rejected      ballot u64 | instance i64 | promised u64                                   = 24
/// Heartbeat     ballot u64 | commitUpTo i64                                                = 16
/// Fetch         fromInstance i64 | countMax i32 | bytesMax i32                             = 16
/// FetchReply    instance i64 | ballot u64 | status u8 | batch (only when status = Chosen)  = 17 + batch
/// Checkpoint    instance i64 | nextPosition i64 | count u32 | count x (producerId u64 | lastSeq u64 | lastInstance i64) = 20 + 24n
/// Publish       a run exactly as in a batch: producerId u64 | firstSeq u64 | count u32 | bytes u32 | messages
/// PublishAck    producerId u64 | firstSeq u64 | count i32 | status u8 | position i64 | expectedSeq u64 | leaderId u16 = 39
/// Subscribe     fromPosition i64                                                           = 8
/// Deliver       firstPosition i64 | instance i64 | skippedCount u32 | skipped u16 x n | batch = 20 + 2n + batch
/// StatusRequest (empty)                                                                    = 0
/// StatusReply   nodeId u16 | role u8 | halted u8 (0/1) | leaderId u16 | promised u64 | nextInstance i64 |
///               chosenUpTo i64 | nextPosition i64 | logBytes i64 | acceptedFloor i64 | earliestPosition i64 |
///               cpuMs i64 | gen0 i64 | gen1 i64 | gen2 i64 | allocatedBytes i64 | workingSetBytes i64 |
///               logSyncCounts i64 x 16 | logSyncSlowestMicros i64                                  = 246
///               (a reply of the first 62 bytes, from a member that predates the process figures, reads as unknown figures;
///               one of the first 110 bytes, from a member that predates the log sync figures, reads as unknown sync figures)
/// </code>
/// A batch is always a whole batch (BatchFormat), its header and CRC checked by the reader.
/// </summary>
public static class MessageLayout
{
    public const int ErrorFixedBytes = 4;
    public const int PreVoteBytes = 24;
    public const int PreVoteReplyBytes = 17;
    public const int PrepareBytes = 16;
    public const int PromiseFixedBytes = 21;
    public const int PromiseRecordFixedBytes = 20;
    public const int AcceptFixedBytes = 24;
    public const int AcceptedBytes = 24;
    public const int RejectedBytes = 24;
    public const int HeartbeatBytes = 16;
    public const int FetchBytes = 16;
    public const int FetchReplyFixedBytes = 17;
    public const int CheckpointFixedBytes = 20;
    public const int CheckpointProducerBytes = 24;
    public const int PublishAckBytes = 39;
    public const int SubscribeBytes = 8;
    public const int DeliverFixedBytes = 20;
    public const int StatusRequestBytes = 0;
    public const int StatusReplyBytes = 246;
    public const int StatusReplyWithoutLogSyncBytes = 110;
    public const int StatusReplyWithoutProcessBytes = 62;

    /// <summary>Largest body a frame may carry (type and flags take 2 of Limits.FrameBytesMax).</summary>
    public const int BodyBytesMax = Limits.FrameBytesMax - 2;

    /// <summary>Largest whole batch: header plus at most Limits.BatchBytesMax stored bytes.</summary>
    public const int BatchBytesMax = Limits.BatchHeaderBytes + Limits.BatchBytesMax;

    /// <summary>Most skipped-run indexes a deliver frame may carry (indexes are u16 and distinct).</summary>
    public const int SkippedRunsMax = ushort.MaxValue + 1;

    /// <summary>Most producers a checkpoint frame can carry (a larger table cannot be transferred: the sender answers Trimmed).</summary>
    public const int CheckpointProducersMax = (BodyBytesMax - CheckpointFixedBytes) / CheckpointProducerBytes;
}

/// <summary>Small helpers shared by the readers: type/flags checks and fixed-size prefixes out of a sequence.</summary>
internal static class Body
{
    /// <summary>Checks the type and that no frame flags are set (none are defined yet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Expect(in Frame frame, MessageType type)
    {
        if (frame.Type != type || frame.Flags != 0) ThrowUnexpected(frame, type);
    }

    /// <summary>The whole body of a fixed-size message as one span: a slice of the first segment when it holds the
    /// body, else a copy in <paramref name="scratch"/> (whose length is the exact body size).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Exact(in Frame frame, MessageType type, Span<byte> scratch)
    {
        Expect(frame, type);
        var body = frame.Body;
        if (body.Length != scratch.Length) ThrowBodyLength(type, body.Length, scratch.Length);
        return Prefix(body, scratch);
    }

    /// <summary>The first scratch.Length bytes of <paramref name="body"/> as one span (no copy when they sit in the first segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Prefix(scoped in ReadOnlySequence<byte> body, Span<byte> scratch)
    {
        var first = body.FirstSpan;
        if (first.Length >= scratch.Length) return first[..scratch.Length];
        if (body.Length < scratch.Length) WireException.ThrowTruncated($"body ({body.Length} bytes, at least {scratch.Length} needed)");
        body.Slice(0, scratch.Length).CopyTo(scratch);
        return scratch;
    }

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);
    public static long I64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadInt64LittleEndian(s[offset..]);
    public static int I32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadInt32LittleEndian(s[offset..]);
    public static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);
    public static ushort U16(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(s[offset..]);

    public static bool Bool(ReadOnlySpan<byte> s, int offset)
    {
        byte b = s[offset];
        if (b > 1) WireException.Throw($"boolean byte {b} is neither 0 nor 1");
        return b == 1;
    }

    /// <summary>Checks a whole batch in place (header against its length, then the CRC over the stored bytes).</summary>
    public static BatchHeader VerifyBatch(in ReadOnlySequence<byte> batch)
    {
        Span<byte> scratch = stackalloc byte[Limits.BatchHeaderBytes];
        var header = BatchHeader.Read(Prefix(batch, scratch), batch.Length);
        uint actual = Crc32C.Compute(batch.Slice(BatchFormat.FormatOffset));
        if (actual != header.Crc) WireException.ThrowCrcMismatch(header.Crc, actual);
        return header;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowUnexpected(in Frame frame, MessageType type)
    {
        if (frame.Type != type) WireException.Throw($"expected a {type} frame, got {frame.Type}");
        WireException.Throw($"{type} frame with unknown flags {frame.Flags:x2}");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBodyLength(MessageType type, long actual, int expected) =>
        WireException.Throw($"{type} body of {actual} bytes, expected {expected}");
}
