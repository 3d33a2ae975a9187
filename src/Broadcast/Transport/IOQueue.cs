using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace AtomicBcast.Transport;

/// <summary>
/// A pipe scheduler that runs queued continuations in order on one thread-pool work item (Kestrel's IOQueue).
/// <see cref="PipeScheduler.ThreadPool"/> allocates a work item per continuation; this queue is itself the work
/// item, so a resumed send or receive loop costs no allocation once the queue's segments are warm.
/// Continuations must be short: they share the queue with other connections' I/O.
/// </summary>
internal sealed class IOQueue : PipeScheduler, IThreadPoolWorkItem
{
    private readonly ConcurrentQueue<Work> _work = new();
    private int _scheduled;

    public override void Schedule(Action<object?> action, object? state)
    {
        _work.Enqueue(new Work(action, state));
        // Only the first enqueue after a drain puts the queue on the thread pool.
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (_work.TryDequeue(out var item)) item.Action(item.State);
            Volatile.Write(ref _scheduled, 0);
            // Work that raced with the reset above must not be stranded.
            if (_work.IsEmpty || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0) return;
        }
    }

    private readonly record struct Work(Action<object?> Action, object? State);
}
