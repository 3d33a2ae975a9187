using System.Diagnostics;

namespace AtomicBcast.Storage;

/// <summary>
/// One group-commit buffer: whole records for one contiguous range of one segment, written with one pwrite and
/// made durable with one fdatasync, and the one completion its waiters share. Owned by the log; every field is
/// read and written under the log's lock, except the bytes the flusher writes after the buffer was sealed.
/// </summary>
internal sealed class WriteBuffer
{
    private readonly byte[] _bytes;
    private int _writers;

    public WriteBuffer(int capacity)
    {
        _bytes = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
        Completion = new FlushCompletion();
        Completion.Complete(null); // starts free: the first Reset re-arms it
    }

    public FlushCompletion Completion { get; }
    public int Capacity => _bytes.Length;
    public int Count { get; private set; }
    public ulong StartAddress { get; private set; }
    public long SegmentIndex { get; private set; }
    public int StartOffset { get; private set; }
    public long FirstAppendTimestamp { get; private set; }

    public ulong EndAddress => StartAddress + (ulong)Count;
    public bool Contains(ulong address) => address >= StartAddress && address < EndAddress;
    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, Count);

    /// <summary>Makes the buffer current again, starting at <paramref name="start"/>, with a new completion generation.</summary>
    public void Reset(ulong start, long segmentBytes)
    {
        Count = 0;
        MoveTo(start, segmentBytes);
        Completion.Rearm();
    }

    /// <summary>Moves an empty buffer (to the start of the next segment).</summary>
    public void MoveTo(ulong start, long segmentBytes)
    {
        Debug.Assert(Count == 0);
        StartAddress = start;
        SegmentIndex = (long)(start / (ulong)segmentBytes);
        StartOffset = (int)(start % (ulong)segmentBytes);
    }

    /// <summary>An appender starts filling its reserved bytes (called under the log's lock).</summary>
    public void BeginWrite() => Interlocked.Increment(ref _writers);

    /// <summary>An appender finished filling and sealing its record (called outside the lock).</summary>
    public void EndWrite() => Interlocked.Decrement(ref _writers);

    /// <summary>
    /// Waits until every appender that reserved bytes here has filled them. Only for a buffer that is no longer
    /// current: then no appender can join, and the ones inside are copying, so the wait is short.
    /// </summary>
    public void WaitForWriters()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _writers) != 0) spin.SpinOnce();
    }

    /// <summary>Reserves <paramref name="paddedLength"/> bytes (zeroed padding included) at the end.</summary>
    public Span<byte> Reserve(int paddedLength, long timestamp)
    {
        Debug.Assert(Count + paddedLength <= _bytes.Length);
        if (Count == 0) FirstAppendTimestamp = timestamp;
        var span = _bytes.AsSpan(Count, paddedLength);
        Count += paddedLength;
        return span;
    }
}
