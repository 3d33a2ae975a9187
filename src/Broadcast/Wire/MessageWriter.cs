using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AtomicBcast.Wire;

/// <summary>
/// Writes whole frames (header + body, layouts in <see cref="MessageLayout"/>) into an <see cref="IBufferWriter{T}"/>.
/// Fixed-size messages take one GetSpan/Advance. Invalid arguments (a body above the frame limit, a text too long)
/// are bugs of the caller and throw <see cref="ArgumentException"/>; nothing here throws <see cref="WireException"/>.
/// This file: messages without batch bytes. MessageWriter.Batches.cs: the rest.
/// </summary>
public static partial class MessageWriter
{
    private const int FrameHeader = Limits.FrameHeaderBytes;

    public static void Write(IBufferWriter<byte> writer, in HelloMessage message) => HelloCodec.Write(writer, message);

    public static void Write(IBufferWriter<byte> writer, in ErrorMessage message)
    {
        int textBytes = Encoding.UTF8.GetByteCount(message.Text);
        if (textBytes > Limits.ErrorTextBytesMax)
            throw new ArgumentException($"error text longer than {Limits.ErrorTextBytesMax} UTF-8 bytes", nameof(message));
        int body = MessageLayout.ErrorFixedBytes + textBytes;
        // header(6) + code(2) + textBytes(2) + text(<= 1024)
        var span = writer.GetSpan(FrameHeader + body);
        FrameCodec.WriteHeader(span, MessageType.Error, 0, body);
        BinaryPrimitives.WriteUInt16LittleEndian(span[FrameHeader..], (ushort)message.Code);
        BinaryPrimitives.WriteUInt16LittleEndian(span[(FrameHeader + 2)..], (ushort)textBytes);
        Encoding.UTF8.GetBytes(message.Text, span[(FrameHeader + MessageLayout.ErrorFixedBytes)..]);
        writer.Advance(FrameHeader + body);
    }

    public static void Write(IBufferWriter<byte> writer, in PreVoteMessage message)
    {
        // header(6) + ballot(8) + logEnd(8) + commitUpTo(8) = 30
        var span = writer.GetSpan(FrameHeader + MessageLayout.PreVoteBytes);
        FrameCodec.WriteHeader(span, MessageType.PreVote, 0, MessageLayout.PreVoteBytes);
        Put(span, 0, message.Ballot.Value);
        Put(span, 8, message.LogEnd);
        Put(span, 16, message.CommitUpTo);
        writer.Advance(FrameHeader + MessageLayout.PreVoteBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in PreVoteReplyMessage message)
    {
        // header(6) + ballot(8) + granted(1) + logEnd(8) = 23
        var span = writer.GetSpan(FrameHeader + MessageLayout.PreVoteReplyBytes);
        FrameCodec.WriteHeader(span, MessageType.PreVoteReply, 0, MessageLayout.PreVoteReplyBytes);
        Put(span, 0, message.Ballot.Value);
        span[FrameHeader + 8] = message.Granted ? (byte)1 : (byte)0;
        Put(span, 9, message.LogEnd);
        writer.Advance(FrameHeader + MessageLayout.PreVoteReplyBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in PrepareMessage message)
    {
        // header(6) + ballot(8) + fromInstance(8) = 22
        var span = writer.GetSpan(FrameHeader + MessageLayout.PrepareBytes);
        FrameCodec.WriteHeader(span, MessageType.Prepare, 0, MessageLayout.PrepareBytes);
        Put(span, 0, message.Ballot.Value);
        Put(span, 8, message.FromInstance);
        writer.Advance(FrameHeader + MessageLayout.PrepareBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in AcceptedMessage message)
    {
        // header(6) + ballot(8) + firstInstance(8) + lastInstance(8) = 30
        var span = writer.GetSpan(FrameHeader + MessageLayout.AcceptedBytes);
        FrameCodec.WriteHeader(span, MessageType.Accepted, 0, MessageLayout.AcceptedBytes);
        Put(span, 0, message.Ballot.Value);
        Put(span, 8, message.FirstInstance);
        Put(span, 16, message.LastInstance);
        writer.Advance(FrameHeader + MessageLayout.AcceptedBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in RejectedMessage message)
    {
        // header(6) + ballot(8) + instance(8) + promised(8) = 30
        var span = writer.GetSpan(FrameHeader + MessageLayout.RejectedBytes);
        FrameCodec.WriteHeader(span, MessageType.Rejected, 0, MessageLayout.RejectedBytes);
        Put(span, 0, message.Ballot.Value);
        Put(span, 8, message.Instance);
        Put(span, 16, message.Promised.Value);
        writer.Advance(FrameHeader + MessageLayout.RejectedBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in HeartbeatMessage message)
    {
        // header(6) + ballot(8) + commitUpTo(8) = 22
        var span = writer.GetSpan(FrameHeader + MessageLayout.HeartbeatBytes);
        FrameCodec.WriteHeader(span, MessageType.Heartbeat, 0, MessageLayout.HeartbeatBytes);
        Put(span, 0, message.Ballot.Value);
        Put(span, 8, message.CommitUpTo);
        writer.Advance(FrameHeader + MessageLayout.HeartbeatBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in FetchMessage message)
    {
        if (message.CountMax <= 0 || message.BytesMax <= 0)
            throw new ArgumentException("fetch CountMax and BytesMax must be positive", nameof(message));
        // header(6) + fromInstance(8) + countMax(4) + bytesMax(4) = 22
        var span = writer.GetSpan(FrameHeader + MessageLayout.FetchBytes);
        FrameCodec.WriteHeader(span, MessageType.Fetch, 0, MessageLayout.FetchBytes);
        Put(span, 0, message.FromInstance);
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 8)..], message.CountMax);
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 12)..], message.BytesMax);
        writer.Advance(FrameHeader + MessageLayout.FetchBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in PublishAckMessage message)
    {
        if (!Enum.IsDefined(message.Status)) throw new ArgumentException($"unknown publish status {message.Status}", nameof(message));
        // header(6) + producerId(8) + firstSeq(8) + count(4) + status(1) + position(8) + expectedSeq(8) + leaderId(2) = 45
        var span = writer.GetSpan(FrameHeader + MessageLayout.PublishAckBytes);
        FrameCodec.WriteHeader(span, MessageType.PublishAck, 0, MessageLayout.PublishAckBytes);
        Put(span, 0, message.ProducerId);
        Put(span, 8, message.FirstSeq);
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 16)..], message.Count);
        span[FrameHeader + 20] = (byte)message.Status;
        Put(span, 21, message.Position);
        Put(span, 29, message.ExpectedSeq);
        BinaryPrimitives.WriteUInt16LittleEndian(span[(FrameHeader + 37)..], message.LeaderId);
        writer.Advance(FrameHeader + MessageLayout.PublishAckBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in SubscribeMessage message)
    {
        // header(6) + fromPosition(8) = 14
        var span = writer.GetSpan(FrameHeader + MessageLayout.SubscribeBytes);
        FrameCodec.WriteHeader(span, MessageType.Subscribe, 0, MessageLayout.SubscribeBytes);
        Put(span, 0, message.FromPosition);
        writer.Advance(FrameHeader + MessageLayout.SubscribeBytes);
    }

    /// <summary>Writes any message held in an <see cref="Envelope"/> as a frame (the member's queues; allocates nothing).</summary>
    internal static void Write(IBufferWriter<byte> writer, in Envelope message)
    {
        switch (message.Type)
        {
            case MessageType.Hello: Write(writer, message.AsHello()); break;
            case MessageType.Error: Write(writer, message.AsError()); break;
            case MessageType.PreVote: Write(writer, message.AsPreVote()); break;
            case MessageType.PreVoteReply: Write(writer, message.AsPreVoteReply()); break;
            case MessageType.Prepare: Write(writer, message.AsPrepare()); break;
            case MessageType.Promise: Write(writer, message.AsPromise()); break;
            case MessageType.Accept: Write(writer, message.AsAccept()); break;
            case MessageType.Accepted: Write(writer, message.AsAccepted()); break;
            case MessageType.Rejected: Write(writer, message.AsRejected()); break;
            case MessageType.Heartbeat: Write(writer, message.AsHeartbeat()); break;
            case MessageType.Fetch: Write(writer, message.AsFetch()); break;
            case MessageType.FetchReply: Write(writer, message.AsFetchReply()); break;
            case MessageType.Checkpoint: Write(writer, message.AsCheckpoint()); break;
            case MessageType.Publish: Write(writer, message.AsPublish()); break;
            case MessageType.PublishAck: Write(writer, message.AsPublishAck()); break;
            case MessageType.Subscribe: Write(writer, message.AsSubscribe()); break;
            case MessageType.Deliver: Write(writer, message.AsDeliver()); break;
            case MessageType.StatusRequest: Write(writer, message.AsStatusRequest()); break;
            case MessageType.StatusReply: Write(writer, message.AsStatusReply()); break;
            default: throw new ArgumentException($"an empty envelope ({message.Type})", nameof(message));
        }
    }

    /// <summary>Writes any owned message struct (as returned by <see cref="MessageReader.ReadOwned"/>) back as a frame.</summary>
    public static void WriteOwned(IBufferWriter<byte> writer, object message) => Write(writer, Envelope.FromObject(message));

    // Body offsets are relative to the body, which starts after the frame header.
    private static void Put(Span<byte> frame, int bodyOffset, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(frame[(FrameHeader + bodyOffset)..], value);

    private static void Put(Span<byte> frame, int bodyOffset, long value) =>
        BinaryPrimitives.WriteInt64LittleEndian(frame[(FrameHeader + bodyOffset)..], value);

    private static void CheckBody(long bodyBytes)
    {
        if (bodyBytes > MessageLayout.BodyBytesMax)
            throw new ArgumentException($"frame body of {bodyBytes} bytes exceeds the limit {MessageLayout.BodyBytesMax}");
    }

    private static void CheckBatch(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < Limits.BatchHeaderBytes || batch.Length > MessageLayout.BatchBytesMax)
            throw new ArgumentException($"a batch of {batch.Length} bytes is not a whole batch", nameof(batch));
        System.Diagnostics.Debug.Assert(BatchHeader.Read(batch).StoredBytes == batch.Length - Limits.BatchHeaderBytes);
    }
}
