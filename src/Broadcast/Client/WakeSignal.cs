using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace AtomicBcast.Client;

/// <summary>
/// Wakes one waiting loop (the publisher's send loop) without allocating: a <see cref="Set"/> while nobody waits is
/// remembered and sets coalesce, so a wait after it returns at once. One waiter at a time. The waiter's continuation
/// runs on the thread pool, never inline in <see cref="Set"/> (which the receive loop and callers of PublishAsync call).
/// Also the core of <see cref="Node.DeliveryWaiter"/>, whose owner ends its waits for good with <see cref="Cancel"/>.
/// </summary>
internal sealed class WakeSignal : IValueTaskSource
{
    private readonly object _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _set;
    private bool _waiting;
    private CancellationToken _cancelled;

    /// <summary>Completes at the next <see cref="Set"/>, or at once if one happened since the last wait.</summary>
    public ValueTask WaitAsync()
    {
        lock (_lock)
        {
            Debug.Assert(!_waiting, "one waiter at a time");
            if (_cancelled.IsCancellationRequested) return ValueTask.FromCanceled(_cancelled);
            if (_set)
            {
                _set = false;
                return ValueTask.CompletedTask;
            }
            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _set = true;
                return;
            }
            _waiting = false;
        }
        // Outside the lock: the waiter cannot wait again (and reset the core) before this completes its current wait.
        _core.SetResult(true);
    }

    /// <summary>Fails the current wait and every later one with an <see cref="OperationCanceledException"/> of
    /// <paramref name="token"/> (which must be cancelled). Later calls change nothing.</summary>
    public void Cancel(CancellationToken token)
    {
        Debug.Assert(token.IsCancellationRequested, "cancel with a cancelled token");
        bool waiting;
        lock (_lock)
        {
            if (_cancelled.IsCancellationRequested) return;
            _cancelled = token;
            waiting = _waiting;
            _waiting = false;
        }
        if (waiting) _core.SetException(new OperationCanceledException(token));
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
