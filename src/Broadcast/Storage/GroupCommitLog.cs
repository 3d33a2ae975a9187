using System.Diagnostics;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

/// <summary>
/// The acceptor's durable log, FasterLog style: appenders copy records into the current write buffer and get an
/// address back without blocking; one flusher thread (or, at the end of a burst, the owner itself: <see cref="EndBurst"/>)
/// writes each buffer with one pwrite, syncs it with one fdatasync, publishes <see cref="DurableUntil"/> and completes
/// every waiter of that flush at once.
///
/// Requirements:
/// - Never lie about durability: <see cref="DurableUntil"/> moves forward only after fdatasync returned 0 (in
///   <see cref="DurabilityMode.Sync"/>). A failed write or sync fails the log for good: every waiter and every
///   later call gets the same <see cref="LogFailedException"/>, and the owner must halt.
/// - Recovery at open verifies every record; a torn tail is cut, anything else bad is <see cref="LogCorruptException"/>.
/// - Appends, waits and reads are thread-safe. Steady-state appends allocate nothing.
/// </summary>
public sealed partial class GroupCommitLog : IDisposable
{
    private readonly ILogDevice _device;
    private readonly GroupCommitLogOptions _options;
    private readonly long _segmentBytes;
    private readonly int _flushBytesMax;
    private readonly int _recordBytesLimit;
    private readonly TimeProvider _time;

    // Everything below is guarded by _gate, except where noted.
    private readonly object _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly InstanceIndex _index;
    private WriteBuffer _current;
    private readonly Queue<WriteBuffer> _sealed;
    private readonly Stack<WriteBuffer> _free;
    private readonly WriteBuffer[] _inFlight;   // the buffers of the flush being written, oldest first
    private int _inFlightCount;
    private ulong _tail;
    private ulong _durableUntil;          // written by the flush's owner with Volatile, read without the lock
    private LogFailedException? _failure;
    private bool _disposing;
    private Ballot _promised;
    private ulong _checkpointAddress = ulong.MaxValue;
    private ulong _floor;                 // reads below fail; 0 = nothing trimmed
    private ulong? _cleanTail;            // during recovery: the tail a clean close marked, else null

    private readonly Thread _flusher;
    private readonly ManualResetEventSlim _work = new(false, spinCount: 0); // no spinning: appenders and the flusher share 2 cores with the rest
    private bool _flushing;               // a flush owns _inFlight and the active file: the flusher's, or a caller's (EndBurst)
    private Segment? _activeSegment;      // the segment being written; the flush's owner only
    private long _flushCount, _flushedBytes;
    private readonly SyncLatencyRecorder _syncLatency = new();
    private long _lastSyncTicks;          // written by the flush's owner, read by anyone

    private GroupCommitLog(GroupCommitLogOptions options, ILogDevice device)
    {
        _options = options;
        _device = device;
        _segmentBytes = options.SegmentBytes;
        _time = options.Time;
        _recordBytesLimit = (int)Math.Min(LogFormat.RecordBytesMax, _segmentBytes - LogFormat.HeaderBytes);
        _flushBytesMax = options.Policy.BytesMax;
        _index = new InstanceIndex(options.IndexCapacity);
        int capacity = Math.Max(_flushBytesMax, _recordBytesLimit);
        _free = new Stack<WriteBuffer>(options.WriteBufferCount);
        _sealed = new Queue<WriteBuffer>(options.WriteBufferCount);
        _inFlight = new WriteBuffer[options.WriteBufferCount];
        for (int i = 1; i < options.WriteBufferCount; i++) _free.Push(new WriteBuffer(capacity));
        _current = new WriteBuffer(capacity);
        _flusher = new Thread(FlusherLoop) { IsBackground = true, Name = $"log-flusher {device.Name}" };
    }

    /// <summary>Opens (recovering) or creates the log described by <paramref name="options"/>.</summary>
    public static GroupCommitLog Open(GroupCommitLogOptions options)
    {
        options.Validate();
        var log = new GroupCommitLog(options, options.CreateDevice());
        try
        {
            log.Recover();
        }
        catch
        {
            log.CloseFiles();
            throw;
        }
        log.PrepareFirstSpare();
        log._current.Reset(log._tail, log._segmentBytes);
        // The marker speaks only of the records written before it; the next append must be judged by the crash rules.
        CleanCloseMarker.Remove(log._device);
        log._flusher.Start();
        StorageLog.Opened(options.Logger, log.Name, log._segments.Count, log._tail, log._floor);
        return log;
    }

    /// <summary>Every record that starts below this address is durable. Only grows.</summary>
    public LogAddress DurableUntil => new(Volatile.Read(ref _durableUntil));

    /// <summary>
    /// Called on the thread that flushed (the flusher's, or the owner's in <see cref="EndBurst"/>) right after
    /// <see cref="DurableUntil"/> moved forward, or after the log failed: a single owner polling <see cref="DurableUntil"/>
    /// (the node's loop) can wake at once instead of waiting on a task completion that takes a thread-pool hop. Must be
    /// quick and must not throw. Set before appending.
    /// </summary>
    public Action? DurabilityChanged { get; set; }

    /// <summary>Where the next record goes (or the start of the next segment).</summary>
    public LogAddress Tail
    {
        get { lock (_gate) return new(_tail); }
    }

    /// <summary>The highest ballot promised in the log (appended, durable or not yet).</summary>
    public Ballot Promised
    {
        get { lock (_gate) return _promised; }
    }

    /// <summary>The highest instance with an accept in the log, or null when there is none.</summary>
    public ulong? HighestInstance
    {
        get { lock (_gate) return _index.IsEmpty ? null : _index.HighestInstance; }
    }

    /// <summary>The earliest instance reads may ask for; everything below was trimmed.</summary>
    public ulong EarliestRetainedInstance
    {
        get { lock (_gate) return _floor; }
    }

    /// <summary>The stored failure once a write or sync failed, else null. The owner halts when it is set.</summary>
    public LogFailedException? Failure => Volatile.Read(ref _failure);

    /// <summary>Flushes (each one write and one fdatasync) done so far.</summary>
    public long FlushCount => Interlocked.Read(ref _flushCount);

    /// <summary>Bytes written by flushes so far.</summary>
    public long FlushedBytes => Interlocked.Read(ref _flushedBytes);

    /// <summary>How long the latest data sync took (zero before the first).</summary>
    public TimeSpan LastSyncDuration => TimeSpan.FromTicks(Volatile.Read(ref _lastSyncTicks));

    /// <summary>How long the log's syncs took (not counted without <see cref="DurabilityMode.Sync"/>).</summary>
    public Wire.SyncLatencyFigures SyncLatency => _syncLatency.Snapshot();

    public string Name => _device.Name;

    /// <summary>
    /// Flushes what was appended, stops the flusher and closes the files. Waiters complete first. When everything
    /// appended is durable, leaves a <see cref="CleanCloseMarker"/> so the next open can tell damage from a torn write.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposing) return;
            _disposing = true;
            _work.Set();
        }
        _flusher.Join();
        WaitForPreparation();
        CloseFiles();
        MarkCleanClose();
        _work.Dispose();
    }

    private void MarkCleanClose()
    {
        if (_failure is not null || _options.Durability != DurabilityMode.Sync || Volatile.Read(ref _durableUntil) != _tail) return;
        try
        {
            CleanCloseMarker.Write(_device, _tail);
        }
        catch (IOException e)
        {
            StorageLog.MarkerNotWritten(_options.Logger, Name, e);
        }
    }

    private void CloseFiles()
    {
        lock (_gate)
            foreach (var segment in _segments)
            {
                segment.File?.Dispose();
                segment.File = null;
            }
    }

    private long SegmentIndexOf(ulong address) => (long)(address / (ulong)_segmentBytes);
    private long OffsetOf(ulong address) => (long)(address % (ulong)_segmentBytes);

    private Segment? FindSegment(long index)
    {
        Debug.Assert(Monitor.IsEntered(_gate));
        if (_segments.Count == 0) return null;
        long position = index - _segments[0].Index;
        return position >= 0 && position < _segments.Count ? _segments[(int)position] : null;
    }
}
