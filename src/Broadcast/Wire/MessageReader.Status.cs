using static AtomicBcast.Wire.Body;

namespace AtomicBcast.Wire;

// Status: a request with no body, a reply of fixed size (layouts in MessageLayout).
public static partial class MessageReader
{
    public static StatusRequestMessage ReadStatusRequest(in Frame frame)
    {
        Exact(frame, MessageType.StatusRequest, []);
        return default;
    }

    public static StatusReplyMessage ReadStatusReply(in Frame frame)
    {
        // Older members send shorter replies: their missing figures read as unknown. Any other length is malformed.
        int length = frame.Body.Length is MessageLayout.StatusReplyWithoutProcessBytes or MessageLayout.StatusReplyWithoutLogSyncBytes
            ? (int)frame.Body.Length : MessageLayout.StatusReplyBytes;
        Span<byte> scratch = stackalloc byte[MessageLayout.StatusReplyBytes];
        var b = Exact(frame, MessageType.StatusReply, scratch[..length]);
        var role = (MemberRole)b[2];
        if (!Enum.IsDefined(role)) WireException.Throw($"unknown member role {b[2]}");
        if (b[3] > 1) WireException.Throw($"status halted flag {b[3]} is not 0 or 1");
        var process = length == MessageLayout.StatusReplyWithoutProcessBytes ? ProcessFigures.Unknown
            : new ProcessFigures(I64(b, 62), I64(b, 70), I64(b, 78), I64(b, 86), I64(b, 94), I64(b, 102));
        var logSync = length < MessageLayout.StatusReplyBytes ? SyncLatencyFigures.Unknown : ReadLogSync(b[110..]);
        return new StatusReplyMessage(U16(b, 0), role, b[3] == 1, U16(b, 4), new Ballot(U64(b, 6)), I64(b, 14), I64(b, 22),
            I64(b, 30), I64(b, 38), I64(b, 46), I64(b, 54), process, logSync);
    }

    private static SyncLatencyFigures ReadLogSync(ReadOnlySpan<byte> b)
    {
        var counts = new SyncLatencyCounts();
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) counts[k] = I64(b, 8 * k);
        return new SyncLatencyFigures(counts, I64(b, 8 * SyncLatencyFigures.Buckets));
    }
}
