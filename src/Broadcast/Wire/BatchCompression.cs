using K4os.Compression.LZ4;

namespace AtomicBcast.Wire;

/// <summary>
/// LZ4 block compression of a batch's runs (flag <see cref="BatchFlags.Lz4"/>). The CRC covers the stored
/// (compressed) bytes, so corruption is caught before LZ4 ever sees them; decompression still treats its input
/// as hostile: it writes only into a destination of exactly the declared rawBytes (already checked against
/// <see cref="Limits.BatchBytesMax"/> by <see cref="BatchHeader.Read(ReadOnlySpan{byte})"/>) and fails unless it fills it exactly.
/// </summary>
public static class BatchCompression
{
    /// <summary>Worst-case compressed size of <paramref name="rawBytes"/> bytes.</summary>
    public static int CompressedBytesMax(int rawBytes) => LZ4Codec.MaximumOutputSize(rawBytes);

    /// <summary>Compresses <paramref name="raw"/>; false when LZ4 does not make it smaller (then store it raw).</summary>
    public static bool TryCompress(ReadOnlySpan<byte> raw, Span<byte> destination, out int written)
    {
        written = LZ4Codec.Encode(raw, destination, LZ4Level.L00_FAST);
        return written > 0 && written < raw.Length;
    }

    /// <summary>Expands the stored runs of a compressed batch into <paramref name="destination"/>, which must be exactly
    /// header.RawBytes long. Throws <see cref="WireException"/> unless LZ4 decodes to exactly that size.</summary>
    public static void Decompress(in BatchHeader header, ReadOnlySpan<byte> stored, Span<byte> destination)
    {
        if (destination.Length != header.RawBytes) throw new ArgumentException("destination must be exactly rawBytes long", nameof(destination));
        int decoded = LZ4Codec.Decode(stored, destination);
        if (decoded != header.RawBytes)
            WireException.Throw($"LZ4 batch decoded to {decoded} bytes, header says {header.RawBytes}");
    }
}
