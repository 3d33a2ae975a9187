using System.Diagnostics;

namespace AtomicBcast.Node;

// Waiting sessions: each owns a DeliveryWaiter; the ring lists those waiting and wakes them all at each append.
// No lost wake-up: WaitAsync checks for the sequence and joins the list under the ring's lock, and an append takes the
// list under the same lock, so a session either sees the new delivery or is on the list the append wakes. Waking happens
// outside the lock (the waiter remembers a set that comes before its wait), and never runs a session inline.
internal sealed partial class DeliveryRing
{
    // The sessions waiting. An append swaps in the spare (empty) list and hands it back once it woke the old one, so
    // waking allocates nothing; only a second waker racing the first (Clear at stop) may take a new list.
    private List<DeliveryWaiter> _waiting = new();
    private List<DeliveryWaiter>? _spareWaiting = new();
    private bool _closed;

    /// <summary>Sessions on the waiting list; for tests.</summary>
    internal int WaitingCount
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>A session's reusable wake-up; <paramref name="stop"/> cancels its waits. Dispose it when the session ends.</summary>
    public DeliveryWaiter OpenWaiter(CancellationToken stop) => new(this, stop);

    /// <summary>
    /// Completes once <paramref name="sequence"/> was delivered, the ring restarted (the session then reads that it is
    /// below the floor) or was cleared; at once if that already happened. Throws <see cref="OperationCanceledException"/>
    /// when the waiter's token is cancelled. No allocation.
    /// </summary>
    public ValueTask WaitAsync(DeliveryWaiter waiter, long sequence)
    {
        Debug.Assert(waiter.Ring == this, "a waiter waits on the ring that opened it");
        lock (_gate)
        {
            if (_closed || sequence < _nextSequence) return ValueTask.CompletedTask;
            // A cancelled waiter is not listed again: its cancellation sets IsCancelled before it takes itself off the list
            // (under this lock), so either this sees the flag or that removal comes after this listing.
            if (!waiter.Listed && !waiter.IsCancelled)
            {
                waiter.Listed = true;
                _waiting.Add(waiter);
            }
        }
        return waiter.WaitAsync();
    }

    /// <summary>Takes a waiter off the list (its session ended or was cancelled).</summary>
    internal void Forget(DeliveryWaiter waiter)
    {
        lock (_gate)
        {
            // Listed is kept under this lock and is true exactly while the waiter is on the list.
            if (!waiter.Listed) return;
            waiter.Listed = false;
            _waiting.Remove(waiter);
        }
    }

    /// <summary>Under the lock: empties the waiting list, returning the waiters to wake (null when none).</summary>
    private List<DeliveryWaiter>? TakeWaiting()
    {
        if (_waiting.Count == 0) return null;
        var woken = _waiting;
        foreach (var waiter in woken) waiter.Listed = false;
        _waiting = Interlocked.Exchange(ref _spareWaiting, null) ?? new();
        return woken;
    }

    /// <summary>Outside the lock: wakes the waiters taken, then gives the list back as the spare.</summary>
    private void Wake(List<DeliveryWaiter>? woken)
    {
        if (woken is null) return;
        foreach (var waiter in woken) waiter.Set();
        woken.Clear();
        Volatile.Write(ref _spareWaiting, woken);
    }
}
