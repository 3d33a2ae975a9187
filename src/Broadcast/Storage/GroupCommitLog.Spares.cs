namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    // Spares: whole segment files, their blocks allocated and written, waiting to become segments (see
    // GroupCommitLogOptions.SpareSegmentsMax and PrepareSpares). Guarded by _gate.
    private readonly Queue<string> _spares = new();
    private long _nextZeroedSerial;
    private Task? _preparing;             // the background zero-fill, while one runs
    private volatile bool _stopPreparing; // the flusher needs the disk space a running zero-fill holds

    /// <summary>What a zero-fill writes at a time, synced before the next: the disk never queues more than this
    /// behind the flusher's own syncs, which would otherwise wait for a whole segment of zeros.</summary>
    private static readonly byte[] s_zeros = new byte[1 << 20];

    /// <summary>
    /// The next spare for the flusher to make segment <paramref name="index"/> from, or null (then it makes a new
    /// preallocated file); with <paramref name="prepareNext"/>, may start a preparation. A spare of a former segment
    /// at or above the new index is not this log's own (its records could pass the check at the new addresses):
    /// asserted here, refused at open.
    /// </summary>
    private string? TakeSpare(long index, bool prepareNext = true)
    {
        string? spare;
        lock (_gate)
        {
            _spares.TryDequeue(out spare);
            if (prepareNext) StartPreparingUnlocked();
        }
        if (spare is not null && LogFormat.TryParseSpareFileName(spare, out long former) && former >= index)
            throw new InvalidOperationException($"spare {spare} is not below segment {index}");
        return spare;
    }

    /// <summary>
    /// Starts writing a zeroed spare in the background when the log has none and none is being written, so the next
    /// segment's blocks are written ones even before trimming has retired any. Not while disposing or failed.
    /// </summary>
    private void StartPreparingUnlocked()
    {
        if (!_options.PrepareSpares || _spares.Count > 0 || _preparing is not null || _disposing || _failure is not null) return;
        long serial = _nextZeroedSerial++;
        _preparing = Task.Run(() => PrepareSpare(serial));
    }

    /// <summary>
    /// Writes a file of zeros, 1 MiB at a time each synced (its extents become written ones on disk, and the
    /// flusher's syncs never wait behind more than one chunk), then fsyncs it and renames it into a spare. Stops
    /// early when the log is disposing or failed or the flusher asks. It is an optimisation: a failure is logged and
    /// leaves the flusher to make preallocated files as before; a crash leaves a temporary file that recovery deletes.
    /// </summary>
    private void PrepareSpare(long serial)
    {
        string spare = LogFormat.ZeroedSpareFileName(serial);
        string temporary = spare + ".tmp";
        bool done = false;
        try
        {
            try
            {
                _device.Delete(temporary);
                using (var file = _device.Create(temporary, _segmentBytes))
                {
                    bool stopped = false;
                    for (long at = 0; at < _segmentBytes && !(stopped = PreparationStopped()); at += s_zeros.Length)
                    {
                        file.Write(at, s_zeros.AsSpan(0, (int)Math.Min(s_zeros.Length, _segmentBytes - at)));
                        file.SyncData();
                    }
                    if (!stopped)
                    {
                        file.SyncAll();
                        done = true;
                    }
                }
                if (done) _device.Rename(temporary, spare);
                else _device.Delete(temporary);
            }
            catch (Exception e)
            {
                done = false;
                StorageLog.SpareNotPrepared(_options.Logger, Name, e);
                TryDelete(temporary);
            }
        }
        finally
        {
            lock (_gate)
            {
                _preparing = null;
                if (done) _spares.Enqueue(spare);
            }
        }
    }

    private bool PreparationStopped() => _stopPreparing || Volatile.Read(ref _disposing) || Volatile.Read(ref _failure) is not null;

    /// <summary>
    /// Called by the flusher when creating a segment failed: if a zero-fill holds disk space, stops it, waits for it
    /// (it deletes its file) and says so, so the creation is tried once more. Further fills start as before.
    /// </summary>
    private bool StopPreparationForSpace()
    {
        Task? preparing;
        lock (_gate) preparing = _preparing;
        if (preparing is null) return false;
        _stopPreparing = true;
        preparing.Wait();
        _stopPreparing = false;
        return true;
    }

    private void TryDelete(string fileName)
    {
        try
        {
            _device.Delete(fileName);
        }
        catch (Exception)
        {
            // Recovery deletes the temporary file at the next open.
        }
    }

    /// <summary>
    /// At open, with <see cref="GroupCommitLogOptions.PrepareSpares"/> and no spare: a new log writes its first spare
    /// now (its first segment is made from it, so even a log that never fills a segment syncs into written blocks);
    /// an existing one starts writing a spare in the background.
    /// </summary>
    private void PrepareFirstSpare()
    {
        if (!_options.PrepareSpares || _spares.Count > 0) return;
        if (_segments is [{ File: null }]) PrepareSpare(_nextZeroedSerial++);
        else lock (_gate) StartPreparingUnlocked();
    }

    /// <summary>Waits for a running preparation (it stops early once disposing is set). Internal for tests that
    /// need a fill to have ended at a given moment.</summary>
    internal void WaitForPreparation()
    {
        Task? preparing;
        lock (_gate) preparing = _preparing;
        preparing?.Wait();
    }

    /// <summary>
    /// At open: keeps up to <see cref="GroupCommitLogOptions.SpareSegmentsMax"/> whole spares for reuse and deletes
    /// the rest. Their records never pass the check at the addresses of a later segment (it is seeded with the
    /// address), and reuse rewrites the header before a spare becomes a segment again. A spare of a former segment
    /// at or above <paramref name="firstSegment"/> cannot be this log's own (its segments were deleted but not its
    /// spares): deleted.
    /// </summary>
    private void AdoptSpares(List<string> spares, long firstSegment)
    {
        spares.Sort(StringComparer.Ordinal);
        bool deleted = false;
        foreach (string spare in spares)
        {
            if (LogFormat.TryParseZeroedSpareFileName(spare, out long serial)) _nextZeroedSerial = Math.Max(_nextZeroedSerial, serial + 1);
            bool foreign = LogFormat.TryParseSpareFileName(spare, out long former) && former >= firstSegment;
            long length;
            using (var file = _device.Open(spare)) length = file.Length;
            if (!foreign && length == _segmentBytes && _spares.Count < Math.Max(_options.SpareSegmentsMax, _options.PrepareSpares ? 1 : 0))
            {
                _spares.Enqueue(spare);
                continue;
            }
            _device.Delete(spare);
            deleted = true;
        }
        if (deleted) _device.SyncDirectory();
    }
}
