using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    /// <summary>
    /// The ballot and address of the latest accept appended for <paramref name="instance"/> (durable once
    /// <see cref="DurableUntil"/> is above the address), from memory, no I/O. False when the log holds none;
    /// <see cref="LogTrimmedException"/> when the instance is below the trim floor.
    /// </summary>
    public bool TryGetAccept(ulong instance, out Ballot ballot, out LogAddress address)
    {
        lock (_gate)
        {
            if (instance < _floor) ThrowTrimmed(instance);
            bool found = _index.TryGet(instance, out ulong at, out ulong value);
            ballot = new Ballot(value);
            address = new LogAddress(at);
            return found;
        }
    }

    /// <summary>
    /// Reads the latest accept for <paramref name="instance"/> from disk, CRC checked, into a pooled buffer the
    /// caller releases. False when there is none or it is not durable yet. Reads only durable records.
    /// </summary>
    public bool TryReadAccept(ulong instance, out Ballot ballot, [NotNullWhen(true)] out BatchBuffer? batch)
    {
        batch = null;
        if (!TryGetAccept(instance, out ballot, out var address) || address >= DurableUntil) return false;
        batch = ReadAcceptBatch(address, instance);
        return true;
    }

    /// <summary>A reader of accepts in instance order from <paramref name="fromInstance"/>; see <see cref="AcceptReader"/>.</summary>
    public AcceptReader ReadAccepts(ulong fromInstance)
    {
        lock (_gate)
            if (fromInstance < _floor) ThrowTrimmed(fromInstance);
        return new AcceptReader(this, fromInstance);
    }

    /// <summary>The latest durable commit checkpoint, or false when the log holds none.</summary>
    public bool TryReadLatestCheckpoint(out ulong instance, out ulong firstPosition, [NotNullWhen(true)] out byte[]? producerTable)
    {
        ulong address;
        lock (_gate) address = _checkpointAddress;
        instance = firstPosition = 0;
        producerTable = null;
        if (address == ulong.MaxValue || address >= Volatile.Read(ref _durableUntil)) return false;
        Span<byte> head = stackalloc byte[LogFormat.CheckpointFixedLength];
        var file = ReadHead(address, 0, head, RecordType.Checkpoint, out int length);
        producerTable = new byte[length - LogFormat.CheckpointFixedLength];
        ReadBody(file, address, 0, head, producerTable);
        instance = LogFormat.ReadU64(head, 0);
        firstPosition = LogFormat.ReadU64(head, 8);
        return true;
    }

    /// <summary>Reads one accept into <paramref name="scratch"/> (grown as needed); used by <see cref="AcceptReader"/>.</summary>
    internal bool TryReadAcceptInto(ulong instance, ref byte[] scratch, out Ballot ballot, out int batchLength)
    {
        batchLength = 0;
        if (!TryGetAccept(instance, out ballot, out var address) || address >= DurableUntil) return false;
        Span<byte> head = stackalloc byte[LogFormat.AcceptFixedLength];
        var file = ReadHead(address.Value, instance, head, RecordType.Accept, out int length);
        batchLength = length - LogFormat.AcceptFixedLength;
        if (scratch.Length < batchLength) scratch = new byte[Math.Max(batchLength, scratch.Length * 2)];
        ReadBody(file, address.Value, instance, head, scratch.AsSpan(0, batchLength));
        return true;
    }

    /// <summary>Reads and checks the fixed part of a record; returns the file to read the body from.</summary>
    private ILogFile ReadHead(ulong address, ulong instance, Span<byte> head, RecordType expected, out int length)
    {
        var file = FileFor(address, instance);
        long offset = OffsetOf(address);
        int read = ReadAt(file, address, instance, offset, head);
        length = LogFormat.ReadLength(head);
        if (read < head.Length || LogFormat.ReadType(head) != expected || length < head.Length || length > _recordBytesLimit)
            ThrowCorruptRead(address, instance, "record header does not match the index");
        return file;
    }

    /// <summary>Reads the body after the head and checks the record's CRC over both.</summary>
    private void ReadBody(ILogFile file, ulong address, ulong instance, ReadOnlySpan<byte> head, Span<byte> body)
    {
        long offset = OffsetOf(address);
        if (ReadAt(file, address, instance, offset + head.Length, body) < body.Length) ThrowCorruptRead(address, instance, "record cut short");
        Span<byte> seed = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(seed, address);
        uint crc = ~Crc32C.Append(Crc32C.Append(Crc32C.Append(0xFFFF_FFFFu, seed), head[4..]), body);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(head)) ThrowCorruptRead(address, instance, "record CRC32C mismatch on read");
    }

    private int ReadAt(ILogFile file, ulong address, ulong instance, long offset, Span<byte> bytes)
    {
        try
        {
            return file.Read(offset, bytes);
        }
        catch (ObjectDisposedException)
        {
            ThrowTrimmed(instance); // the segment was trimmed while we read it
            return 0;
        }
    }

    private ILogFile FileFor(ulong address, ulong instance)
    {
        lock (_gate)
        {
            var segment = FindSegment(SegmentIndexOf(address));
            if (segment is null) ThrowTrimmed(instance);
            return segment.File ?? throw new InvalidOperationException($"segment {segment.FileName} has no file");
        }
    }

    [DoesNotReturn]
    private void ThrowTrimmed(ulong instance) => throw new LogTrimmedException(instance, EarliestFloorUnlocked());

    private ulong EarliestFloorUnlocked() => Volatile.Read(ref _floor);

    /// <summary>
    /// A read that found a bad record: corruption, unless the segment was trimmed meanwhile. A read still in flight
    /// when its segment is retired keeps the file open, and the file may already be a new segment (a reused spare)
    /// whose records at the same offsets fail the check seeded with the old address.
    /// </summary>
    [DoesNotReturn]
    private void ThrowCorruptRead(ulong address, ulong instance, string reason)
    {
        lock (_gate)
            if (FindSegment(SegmentIndexOf(address)) is null) ThrowTrimmed(instance);
        throw new LogCorruptException(LogFormat.SegmentFileName(SegmentIndexOf(address)), OffsetOf(address), reason);
    }
}
