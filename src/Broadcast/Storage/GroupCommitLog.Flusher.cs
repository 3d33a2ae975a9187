using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    /// <summary>
    /// The one flusher: take the next buffer, one pwrite, one fdatasync, publish <see cref="DurableUntil"/>,
    /// complete the buffer's waiters together. Runs on its own thread because fdatasync blocks. On dispose it
    /// drains what was appended; after a failure it stops.
    /// </summary>
    private void FlusherLoop()
    {
        while (true)
        {
            var buffer = TakeNextBuffer(out bool stop, out TimeSpan wait);
            if (buffer is not null)
            {
                if (!Flush(buffer)) return;
                continue;
            }
            if (stop) return;
            if (wait == Timeout.InfiniteTimeSpan) _work.Wait();
            else _work.Wait(wait);
        }
    }

    /// <summary>
    /// The next buffer to flush: a sealed one, else the current one when the policy says so. Null with
    /// <paramref name="wait"/> = how long to sleep, or <paramref name="stop"/> when disposing and drained.
    /// </summary>
    private WriteBuffer? TakeNextBuffer(out bool stop, out TimeSpan wait)
    {
        lock (_gate)
        {
            stop = _failure is not null;
            wait = Timeout.InfiniteTimeSpan;
            if (stop) return null;
            if (_sealed.Count > 0) return _flushing = _sealed.Dequeue();
            var current = _current;
            if (current.Count == 0)
            {
                stop = _disposing;
                _work.Reset();
                return null;
            }
            var waited = _time.GetElapsedTime(current.FirstAppendTimestamp);
            var delay = _options.Policy.DelayMax;
            if (_disposing || current.Count >= _flushBytesMax || waited >= delay)
            {
                // Not flushing and nothing sealed: every other buffer is free.
                System.Diagnostics.Debug.Assert(_free.Count > 0);
                _flushing = current;
                _current = _free.Pop();
                _current.Reset(_tail, _segmentBytes);
                return current;
            }
            _work.Reset();
            wait = delay - waited;
            return null;
        }
    }

    /// <summary>Writes and syncs one buffer, then completes its waiters. False when the log failed.</summary>
    private bool Flush(WriteBuffer buffer)
    {
        buffer.WaitForWriters();
        try
        {
            var file = ActiveFile(buffer.SegmentIndex);
            file.Write(buffer.StartOffset, buffer.Bytes);
            if (_options.Durability == DurabilityMode.Sync) file.SyncData();
        }
        catch (Exception e)
        {
            Fail(e);
            return false;
        }
        Volatile.Write(ref _durableUntil, buffer.EndAddress);
        Interlocked.Increment(ref _flushCount);
        Interlocked.Add(ref _flushedBytes, buffer.Count);
        lock (_gate)
        {
            _flushing = null;
            buffer.Completion.Complete(null);
            _free.Push(buffer);
        }
        return true;
    }

    /// <summary>
    /// The file of the segment being written, created (header, preallocation, fsync, rename, directory fsync) when
    /// the first flush reaches it. Every earlier segment is fully synced by then: flushes are sequential.
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

    private void CreateSegmentFile(Segment segment)
    {
        string temporary = segment.FileName + ".tmp";
        _device.Delete(temporary); // a leftover of a creation that crashed; deleting a missing file does nothing
        long createdMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var file = _device.Create(temporary, _segmentBytes);
        try
        {
            Span<byte> header = stackalloc byte[LogFormat.HeaderBytes];
            LogFormat.WriteHeader(header, segment.Index, _segmentBytes, createdMs, _options.MemberId, _options.ClusterId);
            file.Write(0, header);
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
            _flushing?.Completion.Complete(_failure);
            foreach (var buffer in _sealed) buffer.Completion.Complete(_failure);
            _current.Completion.Complete(_failure);
        }
    }
}
