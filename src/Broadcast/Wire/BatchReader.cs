using System.Buffers;

namespace AtomicBcast.Wire;

/// <summary>
/// Opens a stored batch for reading: checks the header and CRC, expands LZ4 into a pooled array when flagged,
/// and hands out the runs in place. This is the read-back check of the CRC (received, stored, read again).
/// </summary>
public static class BatchReader
{
    /// <summary>Opens <paramref name="batch"/>; dispose the result to return any expansion buffer.</summary>
    public static OpenedBatch Open(ReadOnlySpan<byte> batch)
    {
        var header = BatchCodec.Verify(batch);
        var stored = batch[Limits.BatchHeaderBytes..];
        if ((header.Flags & BatchFlags.Lz4) == 0) return new OpenedBatch(header, stored, rented: null);
        // rawBytes <= Limits.BatchBytesMax was checked by BatchHeader.Read before this allocation.
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(header.RawBytes, 1));
        try
        {
            BatchCompression.Decompress(header, stored, rented.AsSpan(0, header.RawBytes));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(rented);
            throw;
        }
        return new OpenedBatch(header, rented.AsSpan(0, header.RawBytes), rented);
    }

    /// <summary>Opens a batch that sits in a receive buffer. A batch split over segments is first copied (once) into a
    /// pooled array, its length checked against the limit before the copy.</summary>
    public static OpenedBatch Open(in ReadOnlySequence<byte> batch)
    {
        if (batch.IsSingleSegment) return Open(batch.FirstSpan);
        if (batch.Length > MessageLayout.BatchBytesMax) WireException.Throw($"batch of {batch.Length} bytes exceeds the limit");
        int length = (int)batch.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            batch.CopyTo(copy);
            var opened = Open(copy.AsSpan(0, length));
            if (!opened.OwnsBuffer) return new OpenedBatch(opened.Header, opened.Runs, copy);
            ArrayPool<byte>.Shared.Return(copy);
            return opened;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(copy);
            throw;
        }
    }

    /// <summary>Checks every run and message of a batch against its header (run count, message count, bytes).</summary>
    public static BatchHeader Validate(ReadOnlySpan<byte> batch)
    {
        using var opened = Open(batch);
        int runs = 0;
        int messages = 0;
        var enumerator = opened.EnumerateRuns();
        while (enumerator.MoveNext())
        {
            runs++;
            var reader = enumerator.Messages;
            while (reader.MoveNext()) messages++;
        }
        if (runs != opened.Header.RunCount || messages != opened.Header.MessageCount)
            WireException.Throw($"batch holds {runs} runs / {messages} messages, header says {opened.Header.RunCount} / {opened.Header.MessageCount}");
        return opened.Header;
    }
}

/// <summary>A verified batch with its runs uncompressed; valid until disposed (and, when not compressed, while the source lives).</summary>
public ref struct OpenedBatch
{
    private byte[]? _rented;

    internal OpenedBatch(BatchHeader header, ReadOnlySpan<byte> runs, byte[]? rented)
    {
        Header = header;
        Runs = runs;
        _rented = rented;
    }

    public BatchHeader Header { get; }

    /// <summary>The runs, uncompressed (RawBytes long).</summary>
    public ReadOnlySpan<byte> Runs { get; private set; }

    internal readonly bool OwnsBuffer => _rented is not null;

    public readonly RunEnumerator EnumerateRuns() => new(Runs, Header.RunCount);

    public void Dispose()
    {
        Runs = default;
        if (_rented is { } rented)
        {
            _rented = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
