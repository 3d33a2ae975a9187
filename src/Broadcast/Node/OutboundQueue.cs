using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using AtomicBcast.Client;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>
/// Messages waiting to be written to one connection, drained by one writer task: everything queued is written,
/// then one flush (the transport gathers it into one send). Bounded: when full, <see cref="TryEnqueue"/> drops the
/// message (consensus retransmits; a publisher retries on its own timeout), so a slow peer never makes the loop
/// block or hold unbounded memory. The queue owns one reference of each queued message's batches.
///
/// Requirements:
/// - Allocation-free per message once warm: a fixed ring of <c>capacity</c> slots under a lock (never grows) and a
///   <see cref="WakeSignal"/> for the drain's wait. (A Channel allocated one wait operation per wait for the next
///   message when its token can be cancelled, the largest allocation of a busy leader.)
/// - Any thread may enqueue; one <see cref="DrainAsync"/> at a time (a peer's queue outlives its connections: the next
///   connection's drain starts after the previous one ended).
/// - After <see cref="Complete"/> nothing more is accepted, and what was queued before is still drained.
/// </summary>
internal sealed class OutboundQueue
{
    private readonly object _lock = new();
    private readonly object?[] _ring;
    private int _head;
    private int _count;
    private bool _completed;

    // Set when a message arrives in an empty queue, at Complete and at a drain's cancellation.
    private readonly WakeSignal _wake = new();

    public OutboundQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new object?[capacity];
    }

    public long Dropped;

    /// <summary>Queues <paramref name="message"/>, retaining its batches; false (nothing retained) when full or closed.</summary>
    public bool TryEnqueue(object message)
    {
        // Retained before the drain can see it: the drain releases right after writing.
        OwnedFrames.Retain(message);
        if (TryAdd(message, out bool wasEmpty))
        {
            // A drain only waits after it found the queue empty, so waking at the empty-to-non-empty step is enough.
            if (wasEmpty) _wake.Set();
            return true;
        }
        OwnedFrames.Release(message);
        Interlocked.Increment(ref Dropped);
        return false;
    }

    /// <summary>Refuses further messages; the drain writes what is queued and then returns.</summary>
    public void Complete()
    {
        lock (_lock) _completed = true;
        _wake.Set();
    }

    private bool TryAdd(object message, out bool wasEmpty)
    {
        lock (_lock)
        {
            wasEmpty = _count == 0;
            if (_completed || _count == _ring.Length) return false;
            int tail = _head + _count;
            if (tail >= _ring.Length) tail -= _ring.Length;
            _ring[tail] = message;
            _count++;
            return true;
        }
    }

    /// <summary>The oldest message; false when the queue is empty, then <paramref name="completed"/> says whether for good.</summary>
    private bool TryTake([NotNullWhen(true)] out object? message, out bool completed)
    {
        lock (_lock)
        {
            completed = _completed;
            if (_count == 0)
            {
                message = null;
                return false;
            }
            message = _ring[_head];
            Debug.Assert(message is not null, "a counted slot is empty");
            _ring[_head] = null;
            if (++_head == _ring.Length) _head = 0;
            _count--;
            return true;
        }
    }

    /// <summary>Bytes written to the pipe before a flush within one drain (the pipe's pause threshold is 1 MiB by default).</summary>
    private const long FlushEveryBytes = 1 << 20;

    /// <summary>Messages written before a flush when the writer cannot report its unflushed bytes.</summary>
    private const int FlushEveryMessages = 256;

    private static bool FlushDue(System.IO.Pipelines.PipeWriter output, ref int unflushed) =>
        output.CanGetUnflushedBytes ? output.UnflushedBytes >= FlushEveryBytes : ++unflushed >= FlushEveryMessages;

    /// <summary>
    /// Writes queued messages to <paramref name="connection"/> until the queue completes (and is empty) or the
    /// connection's flush reports it completed. Throws <see cref="OperationCanceledException"/> when cancelled; whatever
    /// is still queued when it ends is released (the queue stays usable for the next connection's drain).
    /// </summary>
    public async Task DrainAsync(IConnection connection, CancellationToken cancellationToken)
    {
        // One registration per drain, not per message: cancelling wakes a drain that waits for the next message.
        using var wakeOnCancel = cancellationToken.UnsafeRegister(static wake => ((WakeSignal)wake!).Set(), _wake);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!TryTake(out var message, out bool completed))
                {
                    if (completed) return;
                    // Completes without allocating; a stale wake (from a message already taken) only loops once more.
                    await _wake.WaitAsync().ConfigureAwait(false);
                    continue;
                }
                int unflushed = 0;
                do
                {
                    try
                    {
                        MessageWriter.WriteOwned(connection.Output, message);
                    }
                    finally
                    {
                        OwnedFrames.Release(message);
                    }
                    // The pipe applies its pause threshold only at a flush: writing a long queue (say 16,384 retransmitted
                    // 1 MiB accepts to a follower that fell behind) and flushing once would copy all of it into pipe memory
                    // first. Flushing at a byte budget keeps the queue's batches as references and lets the flush wait.
                    if (FlushDue(connection.Output, ref unflushed))
                    {
                        unflushed = 0;
                        if ((await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted) return;
                    }
                } while (TryTake(out message, out _));
                var flush = await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted) return;
            }
        }
        finally
        {
            // Whatever is left will never be written: drop its references.
            while (TryTake(out var left, out _)) OwnedFrames.Release(left);
        }
    }
}
