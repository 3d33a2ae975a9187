namespace AtomicBcast.Storage;

public sealed partial class GroupCommitLog
{
    private volatile bool _inBurst;   // set by BeginBurst without the lock; cleared and read under it

    /// <summary>
    /// Starts a burst of appends by the log's single owner (the node's loop): until <see cref="EndBurst"/>, appending
    /// to an empty buffer does not wake the flusher. The owner must call <see cref="EndBurst"/> when the burst ends, or
    /// what it appended is never flushed. Appends from other threads during the burst are covered by that call too.
    /// </summary>
    public void BeginBurst() => _inBurst = true;

    /// <summary>For tests: the flusher found nothing it may take (no flush of its own, nothing to wake it) and sleeps
    /// (or is about to) until woken.</summary>
    internal bool FlusherIdle
    {
        get { lock (_gate) return !_work.IsSet; }
    }

    /// <summary>For tests: <see cref="Dispose"/> has begun.</summary>
    internal bool IsDisposing
    {
        get { lock (_gate) return _disposing; }
    }

    /// <summary>
    /// Ends the burst <see cref="BeginBurst"/> started. With <paramref name="flushHere"/>, when no flush is under way
    /// and the policy says go, writes and syncs what was appended on the caller's thread, as the flusher would, and
    /// returns true once <see cref="DurableUntil"/> moved (or the log failed: see <see cref="Failure"/>). Otherwise
    /// wakes the flusher when anything waits for it and returns false.
    /// Why: an owner with nothing else to do until its records are durable (a follower's loop with one accept) saves
    /// the flusher's wake-up and the wake-up back, two thread hand-offs of the one-message commit path. An owner with
    /// other work passes false, and the flusher syncs while it goes on.
    /// </summary>
    public bool EndBurst(bool flushHere)
    {
        int count = 0;
        lock (_gate)
        {
            _inBurst = false;
            if (_failure is not null || _disposing) return false;
            if (flushHere && !_flushing) count = TakeFlushLocked(out _);
            if (count == 0)
            {
                if (!_flushing && (_current.Count > 0 || _sealed.Count > 0)) _work.Set();
                return false;
            }
        }
        Flush(count);
        return true;
    }
}
