namespace AtomicBcast.Wire;

/// <summary>LEB128 unsigned varints for message lengths (at most 5 bytes for a u32).</summary>
public static class Varint
{
    public const int BytesMax = 5;

    public static int Write(Span<byte> destination, uint value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    public static int Size(uint value) => value < 1u << 7 ? 1 : value < 1u << 14 ? 2 : value < 1u << 21 ? 3 : value < 1u << 28 ? 4 : 5;

    /// <summary>Reads one varint; throws <see cref="WireException"/> on truncation or overflow past 32 bits.</summary>
    public static uint Read(ReadOnlySpan<byte> source, out int consumed)
    {
        uint value = 0;
        for (int i = 0; i < BytesMax; i++)
        {
            if (i >= source.Length) WireException.ThrowTruncated("varint");
            byte b = source[i];
            if (i == BytesMax - 1 && b > 0x0F) WireException.Throw("varint overflows 32 bits");
            value |= (uint)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                consumed = i + 1;
                return value;
            }
        }
        WireException.Throw("varint overflows 32 bits");
        consumed = 0;
        return 0;
    }
}
