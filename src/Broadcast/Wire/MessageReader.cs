using System.Text;
using static AtomicBcast.Wire.Body;

namespace AtomicBcast.Wire;

/// <summary>
/// Parses frame bodies in place (layouts in <see cref="MessageLayout"/>). Every reader checks the frame type, that no
/// flags are set, and that the body length is exactly what its fields say (no truncation, no trailing bytes);
/// anything else is a <see cref="WireException"/>. Batches are checked (header and CRC) but never copied:
/// see MessageReader.Batches.cs. MessageReader.Owned.cs builds owned messages (copying) for tests and cold paths.
/// </summary>
public static partial class MessageReader
{
    public static HelloMessage ReadHello(in Frame frame) => HelloCodec.Read(frame);

    public static ErrorMessage ReadError(in Frame frame)
    {
        Expect(frame, MessageType.Error);
        var body = frame.Body;
        if (body.Length < MessageLayout.ErrorFixedBytes) WireException.ThrowTruncated("error");
        if (body.Length > MessageLayout.ErrorFixedBytes + Limits.ErrorTextBytesMax) WireException.Throw("error text longer than its limit");
        Span<byte> scratch = stackalloc byte[MessageLayout.ErrorFixedBytes + Limits.ErrorTextBytesMax];
        var span = Prefix(body, scratch[..(int)body.Length]);
        var code = (ErrorCode)U16(span, 0);
        if (!Enum.IsDefined(code)) WireException.Throw($"unknown error code {(ushort)code}");
        if (U16(span, 2) != span.Length - MessageLayout.ErrorFixedBytes) WireException.Throw("error text length disagrees with the body");
        return new ErrorMessage(code, DecodeUtf8(span[MessageLayout.ErrorFixedBytes..]));
    }

    public static PreVoteMessage ReadPreVote(in Frame frame)
    {
        var b = Exact(frame, MessageType.PreVote, stackalloc byte[MessageLayout.PreVoteBytes]);
        return new PreVoteMessage(new Ballot(U64(b, 0)), I64(b, 8), I64(b, 16));
    }

    public static PreVoteReplyMessage ReadPreVoteReply(in Frame frame)
    {
        var b = Exact(frame, MessageType.PreVoteReply, stackalloc byte[MessageLayout.PreVoteReplyBytes]);
        return new PreVoteReplyMessage(new Ballot(U64(b, 0)), Bool(b, 8), I64(b, 9));
    }

    public static PrepareMessage ReadPrepare(in Frame frame)
    {
        var b = Exact(frame, MessageType.Prepare, stackalloc byte[MessageLayout.PrepareBytes]);
        return new PrepareMessage(new Ballot(U64(b, 0)), I64(b, 8));
    }

    public static AcceptedMessage ReadAccepted(in Frame frame)
    {
        var b = Exact(frame, MessageType.Accepted, stackalloc byte[MessageLayout.AcceptedBytes]);
        return new AcceptedMessage(new Ballot(U64(b, 0)), I64(b, 8), I64(b, 16));
    }

    public static RejectedMessage ReadRejected(in Frame frame)
    {
        var b = Exact(frame, MessageType.Rejected, stackalloc byte[MessageLayout.RejectedBytes]);
        return new RejectedMessage(new Ballot(U64(b, 0)), I64(b, 8), new Ballot(U64(b, 16)));
    }

    public static HeartbeatMessage ReadHeartbeat(in Frame frame)
    {
        var b = Exact(frame, MessageType.Heartbeat, stackalloc byte[MessageLayout.HeartbeatBytes]);
        return new HeartbeatMessage(new Ballot(U64(b, 0)), I64(b, 8));
    }

    public static FetchMessage ReadFetch(in Frame frame)
    {
        var b = Exact(frame, MessageType.Fetch, stackalloc byte[MessageLayout.FetchBytes]);
        var message = new FetchMessage(I64(b, 0), I32(b, 8), I32(b, 12));
        if (message.CountMax <= 0 || message.BytesMax <= 0)
            WireException.Throw($"fetch countMax {message.CountMax} / bytesMax {message.BytesMax} not positive");
        return message;
    }

    public static PublishAckMessage ReadPublishAck(in Frame frame)
    {
        var b = Exact(frame, MessageType.PublishAck, stackalloc byte[MessageLayout.PublishAckBytes]);
        var status = (PublishStatus)b[20];
        if (!Enum.IsDefined(status)) WireException.Throw($"unknown publish status {b[20]}");
        return new PublishAckMessage(U64(b, 0), U64(b, 8), I32(b, 16), status, I64(b, 21), U64(b, 29), U16(b, 37));
    }

    public static SubscribeMessage ReadSubscribe(in Frame frame)
    {
        var b = Exact(frame, MessageType.Subscribe, stackalloc byte[MessageLayout.SubscribeBytes]);
        return new SubscribeMessage(I64(b, 0));
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(false, throwOnInvalidBytes: true);

    private static string DecodeUtf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            WireException.Throw("text is not valid UTF-8");
            return "";
        }
    }
}
