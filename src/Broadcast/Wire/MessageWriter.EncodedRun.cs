using System.Buffers;

namespace AtomicBcast.Wire;

public static partial class MessageWriter
{
    /// <summary>
    /// Writes a publish frame whose messages section (count x (varint length | payload)) the caller already laid out,
    /// e.g. a publisher that encodes each message once at intake: one copy of the section, no per-message work here.
    /// The section is not re-validated (the receiver does); a count or size that cannot form a run is a caller bug.
    /// </summary>
    public static void WritePublish(IBufferWriter<byte> writer, ulong producerId, ulong firstSeq, int count, ReadOnlySpan<byte> messages)
    {
        if (count <= 0 || messages.Length < count) throw new ArgumentException($"{count} messages cannot take {messages.Length} bytes", nameof(count));
        if (Limits.RunHeaderBytes + (long)messages.Length > Limits.BatchBytesMax)
            throw new ArgumentException($"a run of {messages.Length} message bytes does not fit a batch", nameof(messages));
        int size = Limits.RunHeaderBytes + messages.Length;
        // header(6) + run header(24), then the messages section
        var span = writer.GetSpan(FrameHeader + Limits.RunHeaderBytes);
        FrameCodec.WriteHeader(span, MessageType.Publish, 0, size);
        new RunHeader(producerId, firstSeq, count, messages.Length).Write(span[FrameHeader..]);
        writer.Advance(FrameHeader + Limits.RunHeaderBytes);
        writer.Write(messages);
    }
}
