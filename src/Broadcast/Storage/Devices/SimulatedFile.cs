namespace AtomicBcast.Storage.Devices;

/// <summary>
/// One file of a <see cref="SimulatedLogDevice"/>: the current bytes, the bytes as of the last sync, and the
/// writes in between (kept so a crash can tear them). Not thread-safe; the device locks.
/// </summary>
internal sealed class SimulatedFile
{
    private byte[] _current;
    private long _length;
    private byte[] _durable;
    private long _durableLength;
    private readonly List<(long Offset, byte[] Bytes)> _unsynced = [];

    public SimulatedFile(string name, long length)
    {
        Name = name;
        _current = new byte[length];
        _durable = [];
        _length = length;
        _durableLength = 0; // a new file's length is not durable until it is synced
    }

    private SimulatedFile(string name, byte[] bytes, long length)
    {
        Name = name;
        _current = bytes;
        _length = length;
        _durable = (byte[])bytes.Clone();
        _durableLength = length;
    }

    public string Name { get; set; }
    public long Length => _length;

    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        long end = offset + bytes.Length;
        if (end > _length) SetLength(end);
        bytes.CopyTo(_current.AsSpan((int)offset));
        _unsynced.Add((offset, bytes.ToArray()));
    }

    public int Read(long offset, Span<byte> bytes)
    {
        if (offset >= _length) return 0;
        int count = (int)Math.Min(bytes.Length, _length - offset);
        _current.AsSpan((int)offset, count).CopyTo(bytes);
        return count;
    }

    public void Sync()
    {
        if (_durable.Length < _length) Array.Resize(ref _durable, _current.Length);
        foreach (var (offset, bytes) in _unsynced)
            if (offset < _length) bytes.AsSpan(0, (int)Math.Min(bytes.Length, _length - offset)).CopyTo(_durable.AsSpan((int)offset));
        if (_length < _durableLength) Array.Clear(_durable, (int)_length, (int)(_durableLength - _length));
        _durableLength = _length;
        _unsynced.Clear();
    }

    public void SetLength(long length)
    {
        if (length > _current.Length) Array.Resize(ref _current, (int)Math.Max(length, _current.Length * 2L));
        if (length < _length) Array.Clear(_current, (int)length, (int)(_length - length));
        _length = length;
    }

    public void FlipBit(long offset, int bit)
    {
        if (offset >= _length) throw new ArgumentOutOfRangeException(nameof(offset));
        _current[offset] ^= (byte)(1 << bit);
        if (offset < _durableLength) _durable[offset] ^= (byte)(1 << bit);
    }

    public void Truncate(long length)
    {
        SetLength(length);
        if (length < _durableLength)
        {
            Array.Clear(_durable, (int)length, (int)(_durableLength - length));
            _durableLength = length;
        }
        _unsynced.RemoveAll(w => w.Offset >= length);
    }

    public byte[] CurrentBytes() => _current.AsSpan(0, (int)_length).ToArray();

    /// <summary>The file a restart finds: the synced image plus a random subset of the unsynced sectors.</summary>
    public SimulatedFile AfterCrash(string name, Random random, double keepProbability)
    {
        long length = _durableLength;
        foreach (var (offset, bytes) in _unsynced) length = Math.Max(length, offset + bytes.Length);
        var image = new byte[Math.Max(length, _durable.Length)];
        _durable.AsSpan(0, (int)Math.Min(_durable.Length, image.Length)).CopyTo(image);
        foreach (var (offset, bytes) in _unsynced)
        {
            for (int start = 0; start < bytes.Length; start += SimulatedLogDevice.SectorBytes)
            {
                if (random.NextDouble() >= keepProbability) continue;
                int count = Math.Min(SimulatedLogDevice.SectorBytes, bytes.Length - start);
                bytes.AsSpan(start, count).CopyTo(image.AsSpan((int)(offset + start)));
            }
        }
        // A length change that was never synced may or may not have reached the disk; the log must cope with both.
        if (length > _durableLength && random.Next(2) == 0) length = _durableLength;
        return new SimulatedFile(name, image, length);
    }
}
