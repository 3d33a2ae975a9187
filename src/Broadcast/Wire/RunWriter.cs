using System.Buffers;

namespace AtomicBcast.Wire;

/// <summary>
/// Lays out one publisher run (run header + count x (varint length | payload)), the unit a publisher sends and a
/// batch is made of. Arguments that break the format (no message, a payload above Limits.MessageBytesMax) are bugs of
/// the caller: <see cref="ArgumentException"/>.
/// </summary>
public static class RunWriter
{
    /// <summary>Bytes of the run holding <paramref name="payloads"/>, header included.</summary>
    public static int Size(ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        if (payloads.IsEmpty) throw new ArgumentException("a run holds at least one message", nameof(payloads));
        long bytes = Limits.RunHeaderBytes;
        foreach (var payload in payloads) bytes += MessageSize(payload.Length);
        if (bytes > Limits.BatchBytesMax) throw new ArgumentException($"a run of {bytes} bytes does not fit a batch", nameof(payloads));
        return (int)bytes;
    }

    /// <summary>Bytes one message takes in a run: its varint length and its payload.</summary>
    public static int MessageSize(int payloadBytes)
    {
        if ((uint)payloadBytes > Limits.MessageBytesMax)
            throw new ArgumentException($"message of {payloadBytes} bytes exceeds the limit {Limits.MessageBytesMax}", nameof(payloadBytes));
        return Varint.Size((uint)payloadBytes) + payloadBytes;
    }

    /// <summary>Writes the run into <paramref name="destination"/> (at least <see cref="Size"/> bytes); returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ulong producerId, ulong firstSeq, ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        int size = Size(payloads);
        int offset = Limits.RunHeaderBytes;
        foreach (var payload in payloads)
        {
            offset += Varint.Write(destination[offset..], (uint)payload.Length);
            payload.Span.CopyTo(destination[offset..]);
            offset += payload.Length;
        }
        new RunHeader(producerId, firstSeq, payloads.Length, size - Limits.RunHeaderBytes).Write(destination);
        return size;
    }
}

public static partial class MessageWriter
{
    /// <summary>Writes a publish frame holding a run of <paramref name="payloads"/> (a publisher's send path).</summary>
    public static void WritePublish(IBufferWriter<byte> writer, ulong producerId, ulong firstSeq, ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        int size = RunWriter.Size(payloads);
        // header(6), then the run: run header(24) + count x (varint | payload)
        var span = writer.GetSpan(FrameHeader + Limits.RunHeaderBytes);
        FrameCodec.WriteHeader(span, MessageType.Publish, 0, size);
        new RunHeader(producerId, firstSeq, payloads.Length, size - Limits.RunHeaderBytes).Write(span[FrameHeader..]);
        writer.Advance(FrameHeader + Limits.RunHeaderBytes);
        Span<byte> length = stackalloc byte[Varint.BytesMax];
        foreach (var payload in payloads)
        {
            writer.Write(length[..Varint.Write(length, (uint)payload.Length)]);
            writer.Write(payload.Span);
        }
    }
}
