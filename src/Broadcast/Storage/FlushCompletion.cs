using System.Threading.Tasks.Sources;

namespace AtomicBcast.Storage;

/// <summary>
/// The one completion shared by every waiter of a flush: a reusable, multi-waiter <see cref="IValueTaskSource"/>,
/// so waiting allocates nothing. One instance belongs to one <see cref="WriteBuffer"/>; each time the buffer is
/// reused it is re-armed with a new token (the generation).
///
/// Requirements:
/// - A token that is not the current one names an earlier generation, and an earlier generation always
///   succeeded: a failed flush fails the log, and a failed log never re-arms a buffer.
/// - Continuations run on the thread pool, never on the thread that flushed (it must get back to the disk). The
///   scheduling context is not captured: waiting for the log behaves like ConfigureAwait(false).
/// - <see cref="Complete"/> is called by one thread at a time (the flush's owner, or the disposer after it stopped):
///   it runs the continuations outside the lock from an array that only the next Complete reuses.
/// - Tokens are 16 bits: a waiter must look at its ValueTask within 65,535 reuses of the buffer (ValueTask rules
///   already say: await it once, promptly).
/// </summary>
internal sealed class FlushCompletion : IValueTaskSource
{
    private readonly object _gate = new();
    private short _token;
    private bool _done;
    private Exception? _error;
    private Continuation[] _waiting = new Continuation[16];
    private Continuation[] _running = new Continuation[16];
    private int _waitingCount;

    private readonly record struct Continuation(Action<object?> Callback, object? State, ExecutionContext? Context);

    /// <summary>A ValueTask for the current generation. Call only while the generation is pending.</summary>
    public ValueTask Wait()
    {
        lock (_gate) return new ValueTask(this, _token);
    }

    /// <summary>Starts a new generation; the previous one must be complete.</summary>
    public void Rearm()
    {
        lock (_gate)
        {
            System.Diagnostics.Debug.Assert(_done, "re-armed before the flush completed");
            _token++;
            _done = false;
            _error = null;
        }
    }

    /// <summary>Completes the current generation for every waiter at once; <paramref name="error"/> null is success.</summary>
    public void Complete(Exception? error)
    {
        Continuation[] running;
        int count;
        lock (_gate)
        {
            if (_done) return;
            _done = true;
            _error = error;
            running = _waiting;
            count = _waitingCount;
            _waiting = _running; // emptied by the previous Complete
            _running = running;
            _waitingCount = 0;
        }
        for (int i = 0; i < count; i++)
        {
            Schedule(running[i]);
            running[i] = default;
        }
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        lock (_gate)
        {
            if (token != _token) return ValueTaskSourceStatus.Succeeded;
            if (!_done) return ValueTaskSourceStatus.Pending;
            return _error is null ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Faulted;
        }
    }

    public void GetResult(short token)
    {
        Exception? error;
        lock (_gate)
        {
            if (token != _token) return;
            if (!_done) throw new InvalidOperationException("the flush has not completed; await the ValueTask instead");
            error = _error;
        }
        if (error is not null) throw error;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        var context = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        var entry = new Continuation(continuation, state, context);
        lock (_gate)
        {
            if (token == _token && !_done)
            {
                if (_waitingCount == _waiting.Length) Array.Resize(ref _waiting, _waitingCount * 2);
                _waiting[_waitingCount++] = entry;
                return;
            }
        }
        Schedule(entry);
    }

    private static void Schedule(Continuation entry)
    {
        if (entry.Context is null)
        {
            // For an async method's continuation this queues the state machine itself: no allocation.
            ThreadPool.UnsafeQueueUserWorkItem(entry.Callback, entry.State, preferLocal: false);
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static e => ExecutionContext.Run(e.Context!, static s =>
        {
            var c = (Continuation)s!;
            c.Callback(c.State);
        }, e), entry, preferLocal: false);
    }
}
