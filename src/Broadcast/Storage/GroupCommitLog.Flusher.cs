using System.Diagnostics;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    /// <summary>
    /// The one flusher: take everything appended since the last flush (every sealed buffer of the segment, and the
    /// current one), write it (one pwrite per buffer, into the page cache), one fdatasync, publish
    /// <see cref="DurableUntil"/>, complete the waiters of each buffer with that buffer's one completion. Runs on its
    /// own thread because fdatasync blocks. On dispose it drains what was appended; after a failure it stops.
    /// </summary>
    private void FlusherLoop()
    {
        while (true)
        {
            int count = TakeNextFlush(out bool stop, out TimeSpan wait);
            if (count > 0)
            {
                if (!Flush(count)) return;
                continue;
            }
            if (stop) return;
            if (wait == Timeout.InfiniteTimeSpan) _work.Wait();
            else _work.Wait(wait);
        }
    }

    /// <summary>
    /// The flusher's turn: the next flush (see <see cref="TakeFlushLocked"/>), unless a caller's flush (<see
    /// cref="EndBurst"/>) is under way, whose end wakes the flusher again when there is more. Returns how many buffers;
    /// 0 with <paramref name="wait"/> = how long to sleep, or <paramref name="stop"/> when disposing and drained (or
    /// failed).
    /// </summary>
    private int TakeNextFlush(out bool stop, out TimeSpan wait)
    {
        lock (_gate)
        {
            stop = _failure is not null;
            wait = Timeout.InfiniteTimeSpan;
            if (stop) return 0;
            int count = _flushing ? 0 : TakeFlushLocked(out wait);
            if (count == 0)
            {
                stop = _disposing && !_flushing && _current.Count == 0;
                _work.Reset();
            }
            return count;
        }
    }

    /// <summary>
    /// Moves the next flush into <see cref="_inFlight"/> and makes the caller its owner (<see cref="_flushing"/>): the
    /// sealed buffers of the oldest sealed buffer's segment, then the current buffer if it belongs to the same segment
    /// and either something was sealed or the policy says go. Returns how many buffers; 0 with <paramref name="wait"/>
    /// = how long the policy still holds the current buffer. Under the lock, with no flush under way.
    /// </summary>
    private int TakeFlushLocked(out TimeSpan wait)
    {
        Debug.Assert(Monitor.IsEntered(_gate) && !_flushing && _inFlightCount == 0);
        wait = Timeout.InfiniteTimeSpan;
        while (_sealed.Count > 0 && (_inFlightCount == 0 || _sealed.Peek().SegmentIndex == _inFlight[0].SegmentIndex))
            _inFlight[_inFlightCount++] = _sealed.Dequeue();
        var current = _current;
        bool sameSegment = _inFlightCount == 0 || current.SegmentIndex == _inFlight[0].SegmentIndex;
        // The current buffer needs a free one to replace it (with every buffer sealed, it waits for the next flush).
        if (current.Count > 0 && sameSegment && _sealed.Count == 0 && _free.Count > 0
            && (_inFlightCount > 0 || PolicySaysFlush(current, out wait)))
        {
            _inFlight[_inFlightCount++] = current;
            _current = _free.Pop();
            _current.Reset(_tail, _segmentBytes);
        }
        _flushing = _inFlightCount > 0;
        return _inFlightCount;
    }

    private bool PolicySaysFlush(WriteBuffer current, out TimeSpan wait)
    {
        wait = Timeout.InfiniteTimeSpan;
        var delay = _options.Policy.DelayMax;
        if (_disposing || current.Count >= _flushBytesMax || delay == TimeSpan.Zero) return true;
        var waited = _time.GetElapsedTime(current.FirstAppendTimestamp);
        if (waited >= delay) return true;
        wait = delay - waited;
        return false;
    }

    /// <summary>
    /// Writes and syncs the buffers in flight, then completes their waiters and gives up ownership of the flush; on
    /// the flusher's thread or a caller's (<see cref="EndBurst"/>). False when the log failed.
    /// </summary>
    private bool Flush(int count)
    {
        var first = _inFlight[0];
        var last = _inFlight[count - 1];
        try
        {
            var file = ActiveFile(first.SegmentIndex);
            for (int i = 0; i < count; i++)
            {
                var buffer = _inFlight[i];
                buffer.WaitForWriters();
                file.Write(buffer.StartOffset, buffer.Bytes);
            }
            long end = last.StartOffset + (long)last.Count;
            if (end + LogFormat.Terminator.Length <= _segmentBytes) file.Write(end, LogFormat.Terminator);
            if (_options.Durability == DurabilityMode.Sync) SyncTimed(file);
        }
        catch (Exception e)
        {
            Fail(e);
            NotifyDurabilityChanged();
            return false;
        }
        Volatile.Write(ref _durableUntil, last.EndAddress);
        if (!NotifyDurabilityChanged()) return false;
        Interlocked.Increment(ref _flushCount);
        Interlocked.Add(ref _flushedBytes, (long)(last.EndAddress - first.StartAddress));
        lock (_gate)
        {
            for (int i = 0; i < count; i++)
            {
                _inFlight[i].Completion.Complete(null);
                _free.Push(_inFlight[i]);
                _inFlight[i] = null!;
            }
            _inFlightCount = 0;
            _flushing = false;
            // After a caller's flush the flusher may be asleep with records waiting (appended meanwhile, or a dispose).
            if (_current.Count > 0 || _sealed.Count > 0 || _disposing) _work.Set();
        }
        return true;
    }

    /// <summary>Syncs <paramref name="file"/> and counts how long it took (<see cref="SyncLatency"/>); a failed sync throws.</summary>
    private void SyncTimed(ILogFile file)
    {
        long started = _time.GetTimestamp();
        file.SyncData();
        var took = _time.GetElapsedTime(started);
        _syncLatency.Record(took);
        Volatile.Write(ref _lastSyncTicks, took.Ticks);
    }

    /// <summary>
    /// The file of the segment being written, created (header, fsync, rename, directory fsync) when the first flush
    /// reaches it. Every earlier segment is fully synced by then: flushes are sequential.
    /// </summary>
    private ILogFile ActiveFile(long segmentIndex)
    {
        if (_activeSegment?.Index == segmentIndex) return _activeSegment.File!;
        Segment segment;
        lock (_gate) segment = FindSegment(segmentIndex) ?? throw new InvalidOperationException($"segment {segmentIndex} is not in the log");
        if (segment.File is null) CreateSegmentFile(segment);
        _activeSegment = segment;
        return segment.File!;
    }

    /// <summary>
    /// Makes the segment's file under a temporary name, from a spare when there is one (its blocks are already
    /// written) or else new and preallocated, then writes the header and the terminator after it (a spare still
    /// holds its former records there), syncs it and renames it into place. A crash before the directory sync leaves
    /// a temporary file that recovery deletes, or the spare under its old name.
    /// </summary>
    private void CreateSegmentFile(Segment segment)
    {
        string temporary = segment.FileName + ".tmp";
        _device.Delete(temporary); // a leftover of a creation that crashed; deleting a missing file does nothing
        long createdMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        string? spare = TakeSpare(segment.Index);
        var file = spare is null ? null : TryOpenSpare(spare, temporary);
        if (file is null) (file, spare) = CreateNewSegmentFile(temporary, segment.Index);
        try
        {
            Span<byte> start = stackalloc byte[LogFormat.HeaderBytes + LogFormat.RecordHeaderBytes];
            LogFormat.WriteHeader(start[..LogFormat.HeaderBytes], segment.Index, _segmentBytes, createdMs, _options.MemberId, _options.ClusterId);
            start[LogFormat.HeaderBytes..].Clear();
            file.Write(0, start);
            file.SyncAll();
            _device.Rename(temporary, segment.FileName);
            _device.SyncDirectory();
        }
        catch
        {
            file.Dispose();
            throw;
        }
        lock (_gate) segment.CreatedMs = createdMs;
        segment.File = file;
        if (spare is null) StorageLog.SegmentCreated(_options.Logger, Name, segment.FileName);
        else StorageLog.SegmentReused(_options.Logger, Name, segment.FileName, spare);
    }

    /// <summary>
    /// A new preallocated file. When the disk is full, a zero-fill may hold the space: one still running is stopped (it
    /// deletes its file), and one that wrote its last chunk first, even after this segment looked for a spare or
    /// while it was being stopped, has become a spare, which holds that space: then the segment is made from it
    /// (returned as the spare used). Either way the creation is tried once more; with no fill at all, the disk is
    /// full.
    /// </summary>
    private (ILogFile File, string? Spare) CreateNewSegmentFile(string temporary, long segmentIndex)
    {
        try
        {
            return (_device.Create(temporary, _segmentBytes), null);
        }
        catch (IOException)
        {
            bool stopped = StopPreparationForSpace();
            _device.Delete(temporary);
            // No new zero-fill now: it would take the space again. The next segment starts one as usual.
            string? finished = TakeSpare(segmentIndex, prepareNext: false);
            if (finished is not null && TryOpenSpare(finished, temporary) is { } file) return (file, finished);
            if (!stopped && finished is null) throw;
        }
        return (_device.Create(temporary, _segmentBytes), null);
    }

    /// <summary>
    /// The spare renamed to <paramref name="temporary"/> and opened, or null when that fails (then it is deleted and
    /// the caller makes a new file): a read of the segment the spare used to be may still hold the old file open, and
    /// with it the lock a real device takes on open.
    /// </summary>
    private ILogFile? TryOpenSpare(string spare, string temporary)
    {
        try
        {
            _device.Rename(spare, temporary);
            return _device.Open(temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.SpareNotUsed(_options.Logger, Name, spare, e);
            _device.Delete(temporary);
            _device.Delete(spare);
            return null;
        }
    }

    /// <summary>Calls <see cref="DurabilityChanged"/>; a callback that throws is a bug of its owner, which would otherwise
    /// never hear of durability again: the log fails (its waiters learn it), and false stops the flusher.</summary>
    private bool NotifyDurabilityChanged()
    {
        try
        {
            DurabilityChanged?.Invoke();
            return true;
        }
        catch (Exception e)
        {
            Fail(new InvalidOperationException($"the DurabilityChanged callback failed: {e.Message}", e));
            return false;
        }
    }

    /// <summary>
    /// Moves the log into the failed state: one exception, stored, given to every waiter now and every caller
    /// later. Nothing after <see cref="DurableUntil"/> may be reported durable, so no buffer is retried.
    /// </summary>
    private void Fail(Exception cause)
    {
        var failure = new LogFailedException(
            $"log {_device.Name} failed: {cause.Message}; records from address {DurableUntil} on are not durable and the log accepts nothing more",
            cause);
        lock (_gate)
        {
            _failure ??= failure;
            for (int i = 0; i < _inFlightCount; i++) _inFlight[i].Completion.Complete(_failure);
            foreach (var buffer in _sealed) buffer.Completion.Complete(_failure);
            _current.Completion.Complete(_failure);
            // The flusher may sleep behind a caller's flush (EndBurst) that failed: it must see the failure and stop.
            _work.Set();
        }
        StorageLog.Failed(_options.Logger, Name, failure);
    }
}
