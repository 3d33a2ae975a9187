using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace AtomicBcast.Wire;

/// <summary>
/// Packs publisher runs into one batch (the value of one consensus instance) and seals it into a
/// <see cref="BatchBuffer"/>: header, optional LZ4, CRC32C.
///
/// Requirements:
/// - Zero allocation per message in steady state: runs are laid out in a scratch array rented from
///   <see cref="ArrayPool{T}"/> and kept across batches; builders themselves come from <see cref="BatchBuilderPool"/>.
///   Sealing allocates one <see cref="BatchBuffer"/> object per batch (its bytes are pooled).
/// - Never exceeds <see cref="BatchBytesMax"/> raw bytes: every TryAppend returns false instead, and leaves the
///   builder as it was, so the caller seals and starts a new batch.
/// - Runs appended from publish frames are taken as already validated (<see cref="MessageReader.ReadPublish"/>).
/// - Not thread-safe: one owner (the leader's loop) at a time.
/// </summary>
public sealed class BatchBuilder : IResettable
{
    /// <summary>Batches at least this large (raw) are LZ4-compressed when that makes them smaller.</summary>
    public const int DefaultLz4ThresholdBytes = 16 * 1024;

    private const int InitialCapacity = 64 * 1024;
    /// <summary>A builder returned to the pool keeps at most this much scratch, so idle builders do not pin 4 MiB each.</summary>
    private const int RetainedCapacityMax = 1024 * 1024;

    private byte[] _runs;
    private byte[] _compressed = [];
    private int _rawBytes;
    private int _runCount;
    private int _messageCount;
    private int _openRun = -1;
    private int _openCount;
    private ulong _openProducerId;
    private ulong _openFirstSeq;

    /// <summary>A builder with the default LZ4 threshold and the largest batch (what the pool creates).</summary>
    public BatchBuilder() : this(DefaultLz4ThresholdBytes, Limits.BatchBytesMax) { }

    public BatchBuilder(int lz4ThresholdBytes, int batchBytesMax = Limits.BatchBytesMax)
    {
        if (batchBytesMax < Limits.RunHeaderBytes + 1 || batchBytesMax > Limits.BatchBytesMax)
            throw new ArgumentOutOfRangeException(nameof(batchBytesMax));
        Lz4ThresholdBytes = lz4ThresholdBytes;
        BatchBytesMax = batchBytesMax;
        _runs = ArrayPool<byte>.Shared.Rent(Math.Min(InitialCapacity, batchBytesMax));
    }

    /// <summary>Raw batches of at least this many bytes are compressed; <see cref="int.MaxValue"/> turns LZ4 off.</summary>
    public int Lz4ThresholdBytes { get; set; }

    /// <summary>Most raw bytes (runs, uncompressed) one batch may hold.</summary>
    public int BatchBytesMax { get; }

    public int RawBytes => _rawBytes;
    public int RunCount => _runCount;
    public int MessageCount => _messageCount;
    public bool IsEmpty => _rawBytes == 0;

    /// <summary>Appends a whole run (run header + messages) as received in a publish frame.</summary>
    public bool TryAppendRun(ReadOnlySpan<byte> run)
    {
        Debug.Assert(_openRun < 0, "a run is open");
        var header = ReadWholeRun(run[..Math.Min(run.Length, Limits.RunHeaderBytes)], run.Length);
        if (!Reserve(run.Length)) return false;
        run.CopyTo(_runs.AsSpan(_rawBytes));
        Commit(run.Length, header.Count);
        return true;
    }

    /// <summary>Appends a whole run that sits in a receive buffer (the slice returned by <see cref="MessageReader.ReadPublish"/>).</summary>
    public bool TryAppendRun(in ReadOnlySequence<byte> run)
    {
        Debug.Assert(_openRun < 0, "a run is open");
        if (run.IsSingleSegment) return TryAppendRun(run.FirstSpan);
        Span<byte> scratch = stackalloc byte[Limits.RunHeaderBytes];
        var header = ReadWholeRun(Body.Prefix(run, scratch), run.Length);
        int length = (int)run.Length;
        if (!Reserve(length)) return false;
        run.CopyTo(_runs.AsSpan(_rawBytes));
        Commit(length, header.Count);
        return true;
    }

    /// <summary>Appends the run (producerId, firstSeq, payloads) in one piece, or nothing.</summary>
    public bool TryAppendRun(ulong producerId, ulong firstSeq, ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        Debug.Assert(_openRun < 0, "a run is open");
        int size = RunWriter.Size(payloads);
        if (!Reserve(size)) return false;
        RunWriter.Write(_runs.AsSpan(_rawBytes), producerId, firstSeq, payloads);
        Commit(size, payloads.Length);
        return true;
    }

    /// <summary>Opens a run to which messages are appended one by one; close it with <see cref="EndRun"/>.</summary>
    public void BeginRun(ulong producerId, ulong firstSeq)
    {
        Debug.Assert(_openRun < 0, "a run is already open");
        _openRun = _rawBytes;
        _openCount = 0;
        _openProducerId = producerId;
        _openFirstSeq = firstSeq;
    }

    /// <summary>Appends one message to the open run; false when the batch is full (then EndRun, Seal, and go on in a new batch).</summary>
    public bool TryAppendMessage(ReadOnlySpan<byte> payload)
    {
        Debug.Assert(_openRun >= 0, "no open run");
        int size = RunWriter.MessageSize(payload.Length);
        int headerBytes = _openCount == 0 ? Limits.RunHeaderBytes : 0;
        if (!Reserve(headerBytes + size)) return false;
        int offset = _rawBytes + headerBytes;
        offset += Varint.Write(_runs.AsSpan(offset), (uint)payload.Length);
        payload.CopyTo(_runs.AsSpan(offset));
        _rawBytes = offset + payload.Length;
        _openCount++;
        return true;
    }

    /// <summary>Closes the open run: writes its header, or drops it if it got no message. Returns its message count.</summary>
    public int EndRun()
    {
        Debug.Assert(_openRun >= 0, "no open run");
        int count = _openCount;
        if (count > 0)
        {
            int bytes = _rawBytes - _openRun - Limits.RunHeaderBytes;
            new RunHeader(_openProducerId, _openFirstSeq, count, bytes).Write(_runs.AsSpan(_openRun));
            _runCount++;
            _messageCount += count;
        }
        _openRun = -1;
        _openCount = 0;
        return count;
    }

    /// <summary>Seals what was appended into a new batch (one reference, owned by the caller) and resets the builder.
    /// An empty builder seals a no-op batch.</summary>
    public BatchBuffer Seal()
    {
        Debug.Assert(_openRun < 0, "seal with an open run");
        var runs = _runs.AsSpan(0, _rawBytes);
        BatchBuffer batch;
        if (_rawBytes >= Lz4ThresholdBytes && TryCompress(runs, out int compressedBytes))
        {
            batch = BatchBuffer.Rent(Limits.BatchHeaderBytes + compressedBytes);
            _compressed.AsSpan(0, compressedBytes).CopyTo(batch.WritableSpan[Limits.BatchHeaderBytes..]);
            BatchCodec.WriteHeader(batch.WritableSpan, BatchFlags.Lz4, _runCount, _messageCount, _rawBytes);
        }
        else
        {
            batch = BatchBuffer.Rent(Limits.BatchHeaderBytes + _rawBytes);
            runs.CopyTo(batch.WritableSpan[Limits.BatchHeaderBytes..]);
            BatchCodec.WriteHeader(batch.WritableSpan, BatchFlags.None, _runCount, _messageCount, _rawBytes);
        }
        Clear();
        return batch;
    }

    /// <summary>Drops everything appended (IResettable: called by the pool on return).</summary>
    public bool TryReset()
    {
        Clear();
        Lz4ThresholdBytes = DefaultLz4ThresholdBytes;
        if (_runs.Length > RetainedCapacityMax) Swap(ref _runs, InitialCapacity);
        if (_compressed.Length > RetainedCapacityMax) Swap(ref _compressed, 0);
        return true;
    }

    private void Clear()
    {
        _rawBytes = 0;
        _runCount = 0;
        _messageCount = 0;
        _openRun = -1;
        _openCount = 0;
    }

    private bool TryCompress(ReadOnlySpan<byte> runs, out int compressedBytes)
    {
        int bound = BatchCompression.CompressedBytesMax(runs.Length);
        if (_compressed.Length < bound) Swap(ref _compressed, bound);
        return BatchCompression.TryCompress(runs, _compressed, out compressedBytes);
    }

    private static RunHeader ReadWholeRun(ReadOnlySpan<byte> header, long runLength)
    {
        if (header.Length < Limits.RunHeaderBytes) throw new ArgumentException("a run is at least its 24-byte header");
        var run = new RunHeader(Body.U64(header, 0), Body.U64(header, 8), Body.I32(header, 16), Body.I32(header, 20));
        if (run.Count <= 0 || run.Bytes != runLength - Limits.RunHeaderBytes)
            throw new ArgumentException("run header disagrees with the run's length; runs must come from MessageReader.ReadPublish or RunWriter");
        return run;
    }

    /// <summary>Makes room for <paramref name="bytes"/> more raw bytes; false if the batch would exceed its limit.</summary>
    private bool Reserve(int bytes)
    {
        long needed = (long)_rawBytes + bytes;
        if (needed > BatchBytesMax) return false;
        if (needed > _runs.Length) Grow((int)needed);
        return true;
    }

    private void Grow(int needed)
    {
        int capacity = (int)Math.Min(Math.Max((long)_runs.Length * 2, needed), BatchBytesMax);
        var grown = ArrayPool<byte>.Shared.Rent(capacity);
        _runs.AsSpan(0, _rawBytes).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_runs);
        _runs = grown;
    }

    private void Commit(int runBytes, int count)
    {
        _rawBytes += runBytes;
        _runCount++;
        _messageCount += count;
    }

    private static void Swap(ref byte[] array, int length)
    {
        if (array.Length > 0) ArrayPool<byte>.Shared.Return(array);
        array = length == 0 ? [] : ArrayPool<byte>.Shared.Rent(length);
    }
}

/// <summary>The process-wide pool of batch builders (reset on return; <see cref="BoundedObjectPool{T}"/>).</summary>
public static class BatchBuilderPool
{
    /// <summary>Builders kept for reuse; the leader needs one at a time, catch-up and tests a few more.</summary>
    public const int RetainedMax = 16;

    public static ObjectPool<BatchBuilder> Shared { get; } =
        new BoundedObjectPool<BatchBuilder>(new DefaultPooledObjectPolicy<BatchBuilder>(), RetainedMax);

    public static BatchBuilder Get() => Shared.Get();

    public static void Return(BatchBuilder builder) => Shared.Return(builder);
}
