namespace AtomicBcast.Storage.Devices;

/// <summary>
/// An in-memory directory that behaves like a disk that crashes (FASTER's SimulatedFlakyDevice is the model).
///
/// Every file keeps two images: what a reader sees now, and what survives a crash (the state at its last sync).
/// <see cref="Crash"/> returns the device a restarted process would find: synced bytes intact, each unsynced write
/// kept, dropped or torn sector by sector, and directory changes since the last directory sync undone. Faults:
/// <see cref="FailNextWrites"/> and <see cref="FailNextSyncs"/> (EIO, ENOSPC or any errno), a space limit for
/// creates (<see cref="CapacityBytes"/>), <see cref="FlipBit"/> and <see cref="Truncate"/> for recovery tests.
/// Thread-safe: one lock around everything; it is a test device.
/// </summary>
public sealed class SimulatedLogDevice : ILogDevice
{
    public const int EIO = 5;
    public const int ENOSPC = 28;
    public const int SectorBytes = 512;

    private readonly object _gate = new();
    private readonly Dictionary<string, SimulatedFile> _files;
    private Dictionary<string, SimulatedFile> _durableFiles;
    private int _writeErrors, _writeErrno, _writeTornBytes, _syncErrors, _syncErrno, _directorySyncErrors;

    public SimulatedLogDevice(string name = "sim")
    {
        Name = name;
        _files = new Dictionary<string, SimulatedFile>(StringComparer.Ordinal);
        _durableFiles = new Dictionary<string, SimulatedFile>(StringComparer.Ordinal);
    }

    private SimulatedLogDevice(string name, Dictionary<string, SimulatedFile> files)
    {
        Name = name;
        _files = files;
        _durableFiles = new Dictionary<string, SimulatedFile>(files, StringComparer.Ordinal);
    }

    public string Name { get; }

    /// <summary>Creates fail with ENOSPC once the files would hold more than this many bytes.</summary>
    public long CapacityBytes { get; set; } = long.MaxValue;

    /// <summary>Number of successful data syncs, for tests that count flushes.</summary>
    public long SyncCount { get; private set; }

    /// <summary>The image captured by <see cref="CrashAtSync"/>, once that sync was reached.</summary>
    public SimulatedLogDevice? CrashImage { get; private set; }

    private readonly ManualResetEventSlim _syncsAllowed = new(true);
    private readonly ManualResetEventSlim _syncHeld = new(false);
    private readonly ManualResetEventSlim _createRefused = new(false);
    private readonly ManualResetEventSlim _refusalsAllowed = new(true);
    private Func<string, bool>? _holdOnly;

    /// <summary>From now on every data sync (or, with <paramref name="only"/>, every sync of a file whose name it
    /// accepts) blocks before syncing until <see cref="ReleaseSyncs"/>.</summary>
    public void HoldSyncs(Func<string, bool>? only = null)
    {
        _holdOnly = only;
        _syncHeld.Reset();
        _syncsAllowed.Reset();
    }

    public void ReleaseSyncs() => _syncsAllowed.Set();

    /// <summary>Waits until a sync is blocked by <see cref="HoldSyncs"/>: the flusher is parked with its write done.</summary>
    public bool WaitUntilSyncHeld(TimeSpan timeout) => _syncHeld.Wait(timeout);

    /// <summary>Waits until a create has failed for want of space (<see cref="CapacityBytes"/>).</summary>
    public bool WaitUntilCreateRefused(TimeSpan timeout) => _createRefused.Wait(timeout);

    /// <summary>From now on a create refused for want of space blocks before it throws, until
    /// <see cref="ReleaseRefusedCreates"/>: what others do between a refusal and its caller's answer to it.</summary>
    public void HoldRefusedCreates() => _refusalsAllowed.Reset();

    public void ReleaseRefusedCreates() => _refusalsAllowed.Set();

    private long _crashAtSync = -1;
    private Random? _crashRandom;
    private double _crashKeep;
    private Action? _onCrash;

    /// <summary>
    /// When data sync number <paramref name="syncNumber"/> (1-based, counting successful ones) starts, captures
    /// <see cref="Crash"/> into <see cref="CrashImage"/> before it syncs anything, and calls
    /// <paramref name="onCrash"/> under the device lock: a power cut at a moment that always has a write in flight.
    /// </summary>
    public void CrashAtSync(long syncNumber, Random random, double keepUnsyncedProbability, Action? onCrash = null)
    {
        lock (_gate)
        {
            _crashAtSync = syncNumber;
            _crashRandom = random;
            _crashKeep = keepUnsyncedProbability;
            _onCrash = onCrash;
        }
    }

    /// <summary>
    /// The next <paramref name="count"/> writes fail with <paramref name="errno"/>; each first writes (unsynced) its
    /// first <paramref name="tornBytes"/> bytes, as a write torn by the failure would.
    /// </summary>
    public void FailNextWrites(int count, int errno = EIO, int tornBytes = 0)
    {
        lock (_gate) { _writeErrors = count; _writeErrno = errno; _writeTornBytes = tornBytes; }
    }

    /// <summary>The next <paramref name="count"/> syncs fail with <paramref name="errno"/>; the data stays unsynced.</summary>
    public void FailNextSyncs(int count, int errno = EIO)
    {
        lock (_gate) { _syncErrors = count; _syncErrno = errno; }
    }

    /// <summary>The next <paramref name="count"/> directory syncs fail with EIO; the directory changes stay undurable.</summary>
    public void FailNextDirectorySyncs(int count)
    {
        lock (_gate) _directorySyncErrors = count;
    }

    public IReadOnlyList<string> ListFiles()
    {
        lock (_gate) return [.. _files.Keys];
    }

    public ILogFile Open(string fileName)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(fileName, out var file)) throw new FileNotFoundException($"{Name}/{fileName} not found");
            return new Handle(this, file);
        }
    }

    public ILogFile Create(string fileName, long length)
    {
        lock (_gate)
        {
            if (_files.ContainsKey(fileName)) throw new IOException($"{Name}/{fileName} exists");
            long used = 0;
            foreach (var f in _files.Values) used += f.Length;
            if (used + length <= CapacityBytes)
            {
                var file = new SimulatedFile(fileName, length);
                _files.Add(fileName, file);
                return new Handle(this, file);
            }
        }
        _createRefused.Set();
        _refusalsAllowed.Wait(); // outside the lock: what is held meanwhile may use the device
        throw Errno(ENOSPC, "fallocate", fileName);
    }

    public void Rename(string fromFileName, string toFileName)
    {
        lock (_gate)
        {
            if (_files.ContainsKey(toFileName)) throw new IOException($"{Name}/{toFileName} exists");
            if (!_files.Remove(fromFileName, out var file)) throw new FileNotFoundException($"{Name}/{fromFileName} not found");
            file.Name = toFileName;
            _files.Add(toFileName, file);
        }
    }

    public void Delete(string fileName)
    {
        lock (_gate) _files.Remove(fileName);
    }

    public void SyncDirectory()
    {
        lock (_gate)
        {
            if (TakeSyncError(out int errno)) throw Errno(errno, "fsync", "(directory)");
            if (_directorySyncErrors > 0)
            {
                _directorySyncErrors--;
                throw Errno(EIO, "fsync", "(directory)");
            }
            _durableFiles = new Dictionary<string, SimulatedFile>(_files, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// The device after a power cut: directory as of its last sync; each file as of its last sync plus, for every
    /// unsynced write, each sector kept or lost at random (so writes tear). Deterministic for a given seed.
    /// </summary>
    public SimulatedLogDevice Crash(Random random, double keepUnsyncedProbability = 0.5)
    {
        lock (_gate)
        {
            var survivors = new Dictionary<string, SimulatedFile>(StringComparer.Ordinal);
            foreach (var (name, file) in _durableFiles.OrderBy(pair => pair.Key, StringComparer.Ordinal))
                survivors.Add(name, file.AfterCrash(name, random, keepUnsyncedProbability));
            return new SimulatedLogDevice(Name, survivors);
        }
    }

    /// <summary>Flips one bit in both images of a file (bit rot that a sync does not undo).</summary>
    public void FlipBit(string fileName, long offset, int bit)
    {
        lock (_gate) _files[fileName].FlipBit(offset, bit);
    }

    /// <summary>Cuts a file to <paramref name="length"/> bytes in both images.</summary>
    public void Truncate(string fileName, long length)
    {
        lock (_gate) _files[fileName].Truncate(length);
    }

    /// <summary>A copy of the current bytes of a file, for tests.</summary>
    public byte[] ReadAllBytes(string fileName)
    {
        lock (_gate) return _files[fileName].CurrentBytes();
    }

    private bool TakeWriteError(out int errno)
    {
        errno = _writeErrno;
        if (_writeErrors == 0) return false;
        _writeErrors--;
        return true;
    }

    private bool TakeSyncError(out int errno)
    {
        errno = _syncErrno;
        if (_syncErrors == 0) return false;
        _syncErrors--;
        return true;
    }

    private IOException Errno(int errno, string call, string fileName) =>
        new($"simulated {call}({Name}/{fileName}) failure: errno {errno}", errno);

    private sealed class Handle(SimulatedLogDevice device, SimulatedFile file) : ILogFile
    {
        public long Length { get { lock (device._gate) return file.Length; } }

        public void Write(long offset, ReadOnlySpan<byte> bytes)
        {
            lock (device._gate)
            {
                if (device.TakeWriteError(out int errno))
                {
                    file.Write(offset, bytes[..Math.Min(bytes.Length, device._writeTornBytes)]);
                    throw device.Errno(errno, "pwrite", file.Name);
                }
                file.Write(offset, bytes);
            }
        }

        public int Read(long offset, Span<byte> bytes)
        {
            lock (device._gate) return file.Read(offset, bytes);
        }

        public void SyncData() => Sync();
        public void SyncAll() => Sync();

        private void Sync()
        {
            if (!device._syncsAllowed.IsSet && (device._holdOnly?.Invoke(file.Name) ?? true))
            {
                device._syncHeld.Set();
                device._syncsAllowed.Wait();
            }
            lock (device._gate)
            {
                if (device.TakeSyncError(out int errno)) throw device.Errno(errno, "fdatasync", file.Name);
                if (device.SyncCount + 1 == device._crashAtSync)
                {
                    device.CrashImage = device.Crash(device._crashRandom!, device._crashKeep);
                    device._onCrash?.Invoke();
                }
                file.Sync();
                device.SyncCount++;
            }
        }

        public void SetLength(long length)
        {
            lock (device._gate) file.SetLength(length);
        }

        public void Dispose() { }
    }
}
