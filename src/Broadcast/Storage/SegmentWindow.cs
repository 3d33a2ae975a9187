using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Storage;

/// <summary>
/// A forward-moving window over one segment file for recovery: reads in chunks of <see cref="ChunkBytes"/>,
/// grows only to fit the largest record asked for, so a scan never holds a whole segment in memory.
/// </summary>
internal sealed class SegmentWindow(ILogFile file, long limit)
{
    public const int ChunkBytes = 1 << 20;

    private byte[] _buffer = new byte[ChunkBytes];
    private long _start;
    private int _count;

    /// <summary>Bytes the file holds within the segment (shorter than the segment when it was cut).</summary>
    public long Limit { get; } = Math.Min(limit, file.Length);

    /// <summary>Up to <paramref name="count"/> bytes at <paramref name="position"/>; fewer only at <see cref="Limit"/>.</summary>
    public ReadOnlySpan<byte> Get(long position, int count)
    {
        count = (int)Math.Min(count, Math.Max(0, Limit - position));
        if (count == 0) return [];
        if (position >= _start && position + count <= _start + _count)
            return _buffer.AsSpan((int)(position - _start), count);
        if (count > _buffer.Length) _buffer = new byte[Math.Max(count, _buffer.Length * 2)];
        _start = position;
        _count = file.Read(position, _buffer.AsSpan(0, (int)Math.Min(_buffer.Length, Limit - position)));
        return _buffer.AsSpan(0, Math.Min(count, _count));
    }
}
