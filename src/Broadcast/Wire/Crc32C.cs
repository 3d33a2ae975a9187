using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace AtomicBcast.Wire;

/// <summary>
/// CRC32C (Castagnoli), hardware accelerated through <see cref="BitOperations.Crc32C(uint, ulong)"/> (SSE4.2 / ARM CRC).
/// Standard parameters: initial value and final xor 0xFFFFFFFF, so Compute("123456789") == 0xE3069283.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFF_FFFFu, data);

    public static uint Compute(ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment) return Compute(data.FirstSpan);
        uint state = 0xFFFF_FFFFu;
        foreach (var segment in data) state = Append(state, segment.Span);
        return ~state;
    }

    /// <summary>Continue a running (non-finalised) state over more bytes.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words)
            state = BitOperations.Crc32C(state, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        foreach (byte b in data[(words.Length * sizeof(ulong))..])
            state = BitOperations.Crc32C(state, b);
        return state;
    }
}
