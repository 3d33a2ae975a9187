using System.Buffers;
using System.Buffers.Binary;

namespace AtomicBcast.Wire;

/// <summary>One parsed frame: its type, flags and body, a slice of the receive buffer valid until the pipe advances.</summary>
public readonly struct Frame(MessageType type, byte flags, ReadOnlySequence<byte> body)
{
    public MessageType Type { get; } = type;
    public byte Flags { get; } = flags;
    public ReadOnlySequence<byte> Body { get; } = body;
}

/// <summary>
/// Frame header, little-endian:
/// <code>
/// +-----------------+---------+---------+------------------------+
/// | length (u32)    | type u8 | flags u8| body (length - 2 bytes)|
/// +-----------------+---------+---------+------------------------+
///  length counts type, flags and body; 2 &lt;= length &lt;= Limits.FrameBytesMax.
/// </code>
/// </summary>
public static class FrameCodec
{
    /// <summary>
    /// Parses one frame from the front of <paramref name="buffer"/> and slices it off.
    /// False: need more bytes (nothing consumed). Throws <see cref="WireException"/> only for malformed input;
    /// the length is checked against the limit before any wait for the body.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (buffer.Length < Limits.FrameHeaderBytes)
        {
            // Even a partial length can already be judged too large once its 4 bytes are here.
            if (buffer.Length >= 4) CheckLength(ReadLength(buffer));
            return false;
        }

        Span<byte> header = stackalloc byte[Limits.FrameHeaderBytes];
        buffer.Slice(0, Limits.FrameHeaderBytes).CopyTo(header);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        CheckLength(length);
        byte type = header[4];
        if (!IsKnownType(type)) WireException.ThrowUnknownType(type);
        if (buffer.Length < 4 + length) return false;

        frame = new Frame((MessageType)type, header[5], buffer.Slice(Limits.FrameHeaderBytes, length - 2));
        buffer = buffer.Slice(4 + length);
        return true;
    }

    /// <summary>Writes a frame header for a body of <paramref name="bodyBytes"/> bytes.</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, MessageType type, byte flags, int bodyBytes)
    {
        if ((uint)bodyBytes + 2 > Limits.FrameBytesMax) WireException.ThrowFrameTooLarge(bodyBytes + 2L);
        // length(4) + type(1) + flags(1) = 6
        var span = writer.GetSpan(Limits.FrameHeaderBytes);
        WriteHeader(span, type, flags, bodyBytes);
        writer.Advance(Limits.FrameHeaderBytes);
    }

    public static void WriteHeader(Span<byte> destination, MessageType type, byte flags, int bodyBytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)bodyBytes + 2);
        destination[4] = (byte)type;
        destination[5] = flags;
    }

    public static bool IsKnownType(byte type) => Enum.IsDefined((MessageType)type);

    private static uint ReadLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> length = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(length);
        return BinaryPrimitives.ReadUInt32LittleEndian(length);
    }

    private static void CheckLength(uint length)
    {
        if (length > Limits.FrameBytesMax) WireException.ThrowFrameTooLarge(length);
        if (length < 2) WireException.ThrowFrameTooSmall(length);
    }
}
