using System.Buffers.Binary;

namespace AtomicBcast.Wire;

/// <summary>
/// The batch layout: the bytes of one consensus instance, identical on the wire, in the log and to subscribers.
/// <code>
/// +--------+--------+-------+----------+----------+----------+----------+-----------+-------------------+
/// | crc32c | format | flags | reserved | runCount | msgCount | rawBytes | storedBytes | stored runs ...  |
/// |  u32   |   u8   |  u8   |   u16    |   u32    |   u32    |   u32    |    u32      | storedBytes bytes |
/// +--------+--------+-------+----------+----------+----------+----------+-----------+-------------------+
///  crc32c covers every byte after itself. rawBytes = length of the runs uncompressed; storedBytes = length as
///  stored (== rawBytes unless flags has Lz4). The header is <see cref="Limits.BatchHeaderBytes"/> (24) bytes.
///
/// A run:   producerId u64 | firstSeq u64 | count u32 | bytes u32 | count x (varint length | payload)
///          'bytes' is the length of the messages section that follows the 24-byte run header.
/// </code>
/// A batch with no runs is a no-op (used to fill gaps after a leader change).
/// </summary>
public static class BatchFormat
{
    public const byte FormatVersion = 1;
    public const int CrcOffset = 0;
    public const int FormatOffset = 4;
    public const int FlagsOffset = 5;
    public const int RunCountOffset = 8;
    public const int MessageCountOffset = 12;
    public const int RawBytesOffset = 16;
    public const int StoredBytesOffset = 20;
}

[Flags]
public enum BatchFlags : byte
{
    None = 0,
    Lz4 = 1,
}

/// <summary>The decoded fixed header of a batch.</summary>
public readonly record struct BatchHeader(uint Crc, byte Format, BatchFlags Flags, int RunCount, int MessageCount, int RawBytes, int StoredBytes)
{
    public bool IsNoOp => RunCount == 0;

    /// <summary>Parses and sanity-checks the header; does not verify the CRC (see <see cref="BatchCodec.Verify"/>).</summary>
    public static BatchHeader Read(ReadOnlySpan<byte> batch) => Read(batch, batch.Length);

    /// <summary>Parses and sanity-checks the header from the first bytes of a batch whose whole length is
    /// <paramref name="batchLength"/> (for batches that sit in a multi-segment sequence); does not verify the CRC.</summary>
    public static BatchHeader Read(ReadOnlySpan<byte> batch, long batchLength)
    {
        if (batch.Length < Limits.BatchHeaderBytes || batchLength < Limits.BatchHeaderBytes) WireException.ThrowTruncated("batch header");
        var header = new BatchHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(batch),
            batch[BatchFormat.FormatOffset],
            (BatchFlags)batch[BatchFormat.FlagsOffset],
            BinaryPrimitives.ReadInt32LittleEndian(batch[BatchFormat.RunCountOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(batch[BatchFormat.MessageCountOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(batch[BatchFormat.RawBytesOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(batch[BatchFormat.StoredBytesOffset..]));
        if (header.Format != BatchFormat.FormatVersion) WireException.Throw($"unknown batch format {header.Format}");
        if ((header.Flags & ~BatchFlags.Lz4) != 0) WireException.Throw($"unknown batch flags {(byte)header.Flags:x2}");
        if ((uint)header.RawBytes > Limits.BatchBytesMax) WireException.Throw($"batch rawBytes {header.RawBytes} above the limit");
        if ((uint)header.StoredBytes > Limits.BatchBytesMax) WireException.Throw($"batch storedBytes {header.StoredBytes} above the limit");
        if (header.StoredBytes != batchLength - Limits.BatchHeaderBytes)
            WireException.Throw($"batch storedBytes {header.StoredBytes} disagrees with the {batchLength - Limits.BatchHeaderBytes} bytes present");
        if ((header.Flags & BatchFlags.Lz4) == 0 && header.StoredBytes != header.RawBytes)
            WireException.Throw("uncompressed batch with storedBytes != rawBytes");
        // Every run holds at least one message of at least one byte (its varint length), after its 24-byte header.
        if (header.RunCount < 0 || header.RunCount > header.RawBytes / (Limits.RunHeaderBytes + 1))
            WireException.Throw($"batch run count {header.RunCount} disagrees with {header.RawBytes} bytes");
        if (header.MessageCount < header.RunCount || header.MessageCount > header.RawBytes)
            WireException.Throw($"batch message count {header.MessageCount} disagrees with {header.RunCount} runs and {header.RawBytes} bytes");
        return header;
    }
}

/// <summary>The fixed header of one run inside a batch (or of a publish frame's body).</summary>
public readonly record struct RunHeader(ulong ProducerId, ulong FirstSeq, int Count, int Bytes)
{
    public ulong LastSeq => FirstSeq + (ulong)Count - 1;

    public static RunHeader Read(ReadOnlySpan<byte> run)
    {
        if (run.Length < Limits.RunHeaderBytes) WireException.ThrowTruncated("run header");
        var header = new RunHeader(
            BinaryPrimitives.ReadUInt64LittleEndian(run),
            BinaryPrimitives.ReadUInt64LittleEndian(run[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(run[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(run[20..]));
        if (header.Count <= 0) WireException.Throw($"run count {header.Count} is not positive");
        if (header.Bytes < header.Count || header.Bytes > run.Length - Limits.RunHeaderBytes)
            WireException.Throw($"run bytes {header.Bytes} disagree with count {header.Count} or the {run.Length - Limits.RunHeaderBytes} bytes present");
        return header;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, ProducerId);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], FirstSeq);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], Count);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], Bytes);
    }
}
