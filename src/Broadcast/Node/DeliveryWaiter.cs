namespace AtomicBcast.Node;

/// <summary>
/// A subscriber session's wake-up from the <see cref="DeliveryRing"/>: made once per session (by
/// <see cref="DeliveryRing.OpenWaiter"/>) and reused for every wait, so a wait allocates nothing.
/// Like <see cref="Client.WakeSignal"/>: one waiter at a time, a <see cref="Set"/> while nobody waits is remembered and
/// sets coalesce, and the waiter's continuation runs on the thread pool, never inline in <see cref="Set"/> (the member's
/// loop appends to the ring, and must never run subscriber I/O).
/// Unlike it, the session's token is registered once, here: its cancellation fails the current wait and every later one
/// with <see cref="OperationCanceledException"/> and takes the waiter off the ring's list. <see cref="Dispose"/> (at the
/// session's end) takes it off the list too and unregisters the token, so a session that goes away leaves nothing behind.
/// </summary>
internal sealed class DeliveryWaiter : IDisposable
{
    private readonly Client.WakeSignal _signal = new();
    private readonly CancellationToken _stop;
    private readonly CancellationTokenRegistration _registration;
    private volatile bool _cancelled;

    internal DeliveryWaiter(DeliveryRing ring, CancellationToken stop)
    {
        Ring = ring;
        _stop = stop;
        // Once per session; runs at once (before the field is set, harmlessly) when the token is already cancelled.
        _registration = stop.UnsafeRegister(static state => ((DeliveryWaiter)state!).Cancel(), this);
    }

    /// <summary>The ring whose list this waiter joins.</summary>
    internal DeliveryRing Ring { get; }

    /// <summary>Its token was cancelled: the ring does not list it any more (waits fail at once).</summary>
    internal bool IsCancelled => _cancelled;

    /// <summary>On the ring's waiting list. Read and written by the ring, under the ring's lock only.</summary>
    internal bool Listed { get; set; }

    /// <summary>Completes at the next <see cref="Set"/>, or at once if one happened since the last wait.</summary>
    internal ValueTask WaitAsync() => _signal.WaitAsync();

    internal void Set() => _signal.Set();

    private void Cancel()
    {
        _cancelled = true;
        _signal.Cancel(_stop);
        Ring.Forget(this);
    }

    /// <summary>Leaves the ring's list and unregisters the token (waits for a cancellation callback that is running).</summary>
    public void Dispose()
    {
        _registration.Dispose();
        Ring.Forget(this);
    }
}
