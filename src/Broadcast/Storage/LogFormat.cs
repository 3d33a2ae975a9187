using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

/// <summary>
/// The on-disk layout of segments and records. Little-endian throughout.
/// <code>
/// Segment header (128 bytes, at offset 0 of every segment file):
/// +-------+---------+-------------+--------------+--------------+-----------+----------+--------+----------+----------+-------+
/// | magic | version | headerBytes | segmentIndex | segmentBytes | createdMs | memberId | idLen  | clusterId| reserved | crc32c|
/// |  u64  |   u32   |     u32     |     u64      |     u64      |    i64    |   u16    |   u8   |  64 bytes|          |  u32  |
/// +-------+---------+-------------+--------------+--------------+-----------+----------+--------+----------+----------+-------+
///  0       8         12            16             24             32          40         42       44         108        124
///
/// Record (8-byte aligned; padding after a record is zeros and not part of it; every flush ends with 16 zero
/// bytes after its last record, the terminator, when the segment has room for them):
/// +--------+--------+------+----------+---------------+-------------------------------------------+
/// | crc32c | length | type | reserved | durableBefore | body                                      |
/// |  u32   |  u32   |  u8  |  3 bytes |      u32      |                                           |
/// +--------+--------+------+----------+---------------+-------------------------------------------+
///  crc32c: CRC32C of the record's address (u64) followed by bytes [4, length) of the record. Seeding with the
///          address makes a record that lands at the wrong place, or a stale one from an earlier life of the
///          same bytes, fail its check.
///  length: bytes of the record from crc32c to the end of the body (not counting padding).
///  durableBefore: a segment offset below which everything was durable when this record was appended (the log's
///          DurableUntil then, or the segment's first record offset), so at or below the start of the flush that
///          carries it. A bad record below the durableBefore of a valid later record had been synced: corruption,
///          never a torn tail.
/// Bodies:  Promise    ballot u64                                          (length 24)
///          Accept     instance u64 | ballot u64 | batch bytes             (length 32 + batch)
///          Checkpoint instance u64 | firstPosition u64 | producer table  (length 32 + table)
///          Trim       floorInstance u64 | promised ballot u64            (length 32)
/// </code>
/// </summary>
internal static class LogFormat
{
    public static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ABCASTLG"u8);
    public const uint FormatVersion = 1;
    public const int HeaderBytes = 128;
    public const int HeaderCrcOffset = 124;

    public const int RecordHeaderBytes = 16;
    public const int Alignment = 8;
    public const int PromiseLength = RecordHeaderBytes + 8;
    public const int AcceptFixedLength = RecordHeaderBytes + 16;
    public const int CheckpointFixedLength = RecordHeaderBytes + 16;
    public const int TrimLength = RecordHeaderBytes + 16;

    /// <summary>The largest record: an accept with the largest batch a <see cref="BatchBuffer"/> can hold.</summary>
    public const int RecordBytesMax = (AcceptFixedLength + Limits.FrameBytesMax + Alignment - 1) & ~(Alignment - 1);

    /// <summary>Segment sizes the format accepts (offsets are u32).</summary>
    public const long SegmentBytesMin = 64 << 10;
    public const long SegmentBytesMax = 1L << 31;

    public static int Align(int length) => (length + Alignment - 1) & ~(Alignment - 1);

    public static string SegmentFileName(long index) => $"segment-{index:D10}.log";

    public static bool TryParseSegmentFileName(string name, out long index)
    {
        index = 0;
        return name.Length == 22 && name.StartsWith("segment-", StringComparison.Ordinal)
            && name.EndsWith(".log", StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(8, 10), System.Globalization.NumberStyles.None, null, out index);
    }

    /// <summary>
    /// A trimmed segment file kept for reuse, named after the segment it was. Reuse writes a new header (and a
    /// terminator after it) before the file becomes a segment again; its old records stay after the tail, where
    /// they never pass the CRC check, which is seeded with the address (the new segment's index is higher).
    /// </summary>
    public static string SpareFileName(long formerIndex) => $"spare-{formerIndex:D10}.seg";

    /// <summary>A spare written with zeros ahead of need (see <see cref="GroupCommitLogOptions.PrepareSpares"/>), numbered by the log.</summary>
    public static string ZeroedSpareFileName(long serial) => $"zeroed-{serial:D10}.seg";

    public static bool IsSpareFileName(string name) => TryParseSpareFileName(name, out _) || TryParseZeroedSpareFileName(name, out _);

    /// <summary>A spare retired by a trim: the index of the segment it was.</summary>
    public static bool TryParseSpareFileName(string name, out long formerIndex)
    {
        formerIndex = 0;
        return name.Length == 20 && name.StartsWith("spare-", StringComparison.Ordinal) && name.EndsWith(".seg", StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(6, 10), System.Globalization.NumberStyles.None, null, out formerIndex);
    }

    public static bool TryParseZeroedSpareFileName(string name, out long serial)
    {
        serial = 0;
        return name.Length == 21 && name.StartsWith("zeroed-", StringComparison.Ordinal) && name.EndsWith(".seg", StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(7, 10), System.Globalization.NumberStyles.None, null, out serial);
    }

    /// <summary>
    /// Zeros written right after the last record of every flush, where the next record's header would be. A reused
    /// segment file still holds records of its former life after the tail; they never pass the CRC check (it is
    /// seeded with the address), and this terminator makes the scan stop cleanly at the tail instead of at a bad
    /// record, which in a segment that later segments follow would read as corruption.
    /// </summary>
    public static ReadOnlySpan<byte> Terminator => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static void WriteHeader(Span<byte> header, long segmentIndex, long segmentBytes, long createdMs, ushort memberId, string clusterId)
    {
        Debug.Assert(header.Length == HeaderBytes);
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], HeaderBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], segmentIndex);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], segmentBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], createdMs);
        BinaryPrimitives.WriteUInt16LittleEndian(header[40..], memberId);
        int idLength = Encoding.UTF8.GetBytes(clusterId, header.Slice(44, Limits.ClusterIdBytesMax));
        header[42] = (byte)idLength;
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderCrcOffset..], Crc32C.Compute(header[..HeaderCrcOffset]));
    }

    /// <summary>Checks a segment header; returns null when it is good, otherwise why not.</summary>
    public static string? CheckHeader(ReadOnlySpan<byte> header, long segmentIndex, long segmentBytes, ushort memberId, string clusterId, out long createdMs)
    {
        createdMs = 0;
        if (header.Length < HeaderBytes) return "segment header truncated";
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic) return "bad segment magic";
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderCrcOffset..]) != Crc32C.Compute(header[..HeaderCrcOffset]))
            return "segment header CRC32C mismatch";
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != FormatVersion) return $"unknown segment format version {version}";
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != HeaderBytes) return "unexpected header size";
        long index = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (index != segmentIndex) return $"header says segment {index}, file name says {segmentIndex}";
        long bytes = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        if (bytes != segmentBytes) return $"segment was written with segment size {bytes}, the log is opened with {segmentBytes}";
        ushort member = BinaryPrimitives.ReadUInt16LittleEndian(header[40..]);
        if (member != memberId) return $"segment belongs to member {member}, not {memberId}";
        int idLength = header[42];
        if (idLength > Limits.ClusterIdBytesMax) return "bad cluster id length";
        string cluster = Encoding.UTF8.GetString(header.Slice(44, idLength));
        if (cluster != clusterId) return $"segment belongs to cluster '{cluster}', not '{clusterId}'";
        createdMs = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
        return null;
    }

    /// <summary>Writes a record header; the CRC is filled in by <see cref="Seal"/> once the body is in place.</summary>
    public static void WriteRecordHeader(Span<byte> record, int length, RecordType type, uint durableBefore)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)type); // type u8 + 3 reserved zero bytes
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], durableBefore);
    }

    /// <summary>Computes and stores the CRC of a complete record at <paramref name="address"/>.</summary>
    public static void Seal(Span<byte> record, int length, ulong address) =>
        BinaryPrimitives.WriteUInt32LittleEndian(record, ComputeCrc(record[..length], address));

    public static uint ComputeCrc(ReadOnlySpan<byte> record, ulong address)
    {
        Span<byte> seed = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(seed, address);
        return ~Crc32C.Append(Crc32C.Append(0xFFFF_FFFFu, seed), record[4..]);
    }

    public static int ReadLength(ReadOnlySpan<byte> record) => (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(record[4..]), int.MaxValue);
    public static RecordType ReadType(ReadOnlySpan<byte> record) => (RecordType)record[8];
    public static uint ReadDurableBefore(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
    public static ulong ReadU64(ReadOnlySpan<byte> record, int bodyOffset) =>
        BinaryPrimitives.ReadUInt64LittleEndian(record[(RecordHeaderBytes + bodyOffset)..]);

    /// <summary>
    /// Whether a record header could be real: a known type, a length that fits the type and the limits, zero
    /// reserved bytes, and a flush start inside the segment and not after the record.
    /// </summary>
    public static bool IsPlausibleHeader(ReadOnlySpan<byte> header, long offsetInSegment, long segmentBytes)
    {
        int length = ReadLength(header);
        if (header[9] != 0 || header[10] != 0 || header[11] != 0) return false;
        uint durableBefore = ReadDurableBefore(header);
        if (durableBefore < HeaderBytes || durableBefore > offsetInSegment || durableBefore % Alignment != 0) return false;
        if (offsetInSegment + Align(length) > segmentBytes) return false;
        return ReadType(header) switch
        {
            RecordType.Promise => length == PromiseLength,
            RecordType.Accept => length >= AcceptFixedLength && length <= RecordBytesMax,
            RecordType.Checkpoint => length >= CheckpointFixedLength && length <= RecordBytesMax,
            RecordType.Trim => length == TrimLength,
            _ => false,
        };
    }

    public static bool IsValid(ReadOnlySpan<byte> record, ulong address) =>
        BinaryPrimitives.ReadUInt32LittleEndian(record) == ComputeCrc(record, address);
}
