using System.Buffers.Binary;

namespace AtomicBcast.Wire;

/// <summary>
/// Whole-batch operations: sealing a header (CRC), verifying, and walking the runs of an uncompressed batch.
/// Compressed batches are expanded by the LZ4 path first (see BatchCompression) and then walked the same way.
/// </summary>
public static class BatchCodec
{
    /// <summary>A batch with no runs: the no-op that fills gaps after a leader change.</summary>
    public static BatchBuffer CreateNoOp()
    {
        var buffer = BatchBuffer.Rent(Limits.BatchHeaderBytes);
        WriteHeader(buffer.WritableSpan, BatchFlags.None, runCount: 0, messageCount: 0, rawBytes: 0);
        return buffer;
    }

    /// <summary>Writes the header fields after the runs are in place (storedBytes = span length - header) and seals the CRC.</summary>
    public static void WriteHeader(Span<byte> batch, BatchFlags flags, int runCount, int messageCount, int rawBytes)
    {
        batch[BatchFormat.FormatOffset] = BatchFormat.FormatVersion;
        batch[BatchFormat.FlagsOffset] = (byte)flags;
        BinaryPrimitives.WriteUInt16LittleEndian(batch[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(batch[BatchFormat.RunCountOffset..], runCount);
        BinaryPrimitives.WriteInt32LittleEndian(batch[BatchFormat.MessageCountOffset..], messageCount);
        BinaryPrimitives.WriteInt32LittleEndian(batch[BatchFormat.RawBytesOffset..], rawBytes);
        BinaryPrimitives.WriteInt32LittleEndian(batch[BatchFormat.StoredBytesOffset..], batch.Length - Limits.BatchHeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(batch, Crc32C.Compute(batch[4..]));
    }

    /// <summary>Checks the header and the CRC; throws <see cref="WireException"/> on any mismatch.</summary>
    public static BatchHeader Verify(ReadOnlySpan<byte> batch)
    {
        var header = BatchHeader.Read(batch);
        uint actual = Crc32C.Compute(batch[4..]);
        if (actual != header.Crc) WireException.ThrowCrcMismatch(header.Crc, actual);
        return header;
    }

    /// <summary>The runs of an uncompressed batch, in order. Validates every run header against the bytes present.</summary>
    public static RunEnumerator EnumerateRuns(ReadOnlySpan<byte> batch)
    {
        var header = BatchHeader.Read(batch);
        if ((header.Flags & BatchFlags.Lz4) != 0) WireException.Throw("EnumerateRuns needs an uncompressed batch");
        return new RunEnumerator(batch[Limits.BatchHeaderBytes..], header.RunCount);
    }
}

/// <summary>Walks runs in place; no allocation. Throws <see cref="WireException"/> if counts disagree with bytes.</summary>
public ref struct RunEnumerator
{
    private ReadOnlySpan<byte> _remaining;
    private int _runsLeft;
    private RunHeader _current;
    private ReadOnlySpan<byte> _currentMessages;

    internal RunEnumerator(ReadOnlySpan<byte> runs, int runCount)
    {
        _remaining = runs;
        _runsLeft = runCount;
    }

    public readonly RunEnumerator GetEnumerator() => this;
    public readonly RunHeader Current => _current;
    /// <summary>The messages section of the current run (count x varint length | payload).</summary>
    public readonly ReadOnlySpan<byte> CurrentMessages => _currentMessages;
    /// <summary>Walks the messages of the current run in place.</summary>
    public readonly RunMessageReader Messages => new(_currentMessages, _current.Count);

    public bool MoveNext()
    {
        if (_runsLeft == 0)
        {
            if (!_remaining.IsEmpty) WireException.Throw($"{_remaining.Length} bytes after the last run");
            return false;
        }
        _current = RunHeader.Read(_remaining);
        _currentMessages = _remaining.Slice(Limits.RunHeaderBytes, _current.Bytes);
        _remaining = _remaining[(Limits.RunHeaderBytes + _current.Bytes)..];
        _runsLeft--;
        return true;
    }
}
