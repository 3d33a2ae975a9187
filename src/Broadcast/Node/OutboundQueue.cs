using System.Diagnostics;
using System.IO.Pipelines;
using AtomicBcast.Client;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>
/// Messages waiting to be written to one connection. Everything queued is written, then one flush (the transport gathers
/// it into one send). Bounded: when full, a message is dropped (consensus retransmits; a publisher retries on its own
/// timeout), so a slow peer never makes the loop block or hold unbounded memory. The queue owns one reference of each
/// queued message's batches.
///
/// Two writers take turns, never both at once:
/// - the drain (<see cref="DrainAsync"/>, one task per connection) writes whatever is queued while it runs and waits
///   when the queue is empty;
/// - the member's loop thread (<see cref="Pump"/>) writes and flushes what it queued with <see cref="TryEnqueueForPump"/>
///   itself, at the end of its burst of events, while the drain waits. Waking the drain for every burst cost a thread
///   hand-off per message sent (the largest share of a member's context switches with one message in flight). When a
///   pumped flush does not complete at once (the peer pushes back), or the connection failed, the pump hands the flush
///   over to the drain and the loop goes on: the loop never blocks on a peer. A pump writes at most one flush budget;
///   the drain writes the rest, so a long queue is never copied on the loop thread.
///
/// Requirements:
/// - Allocation-free per message once warm: a ring of <see cref="Envelope"/>s under a lock (no heap object per message),
///   which doubles from <see cref="InitialSlots"/> up to <c>capacity</c> slots as the queue first grows and never shrinks
///   (an idle connection keeps a small ring), and a <see cref="WakeSignal"/> for the drain's wait. (A Channel allocated
///   one wait operation per wait for the next message when its token can be cancelled, the largest allocation of a busy
///   leader.)
/// - Any thread may <see cref="TryEnqueue"/>; one thread (the loop) uses <see cref="TryEnqueueForPump"/> and
///   <see cref="Pump"/>. One <see cref="DrainAsync"/> at a time (a peer's queue outlives its connections: the next
///   connection's drain starts after the previous one ended); a drain ends only after a pump in progress ended, so the
///   connection is never written after its drain returned.
/// - After <see cref="Complete"/> nothing more is accepted, and what was queued before is still drained.
/// - A lagging queue keeps no batch carved from <see cref="BatchArena"/>: from <see cref="HighWaterMark"/> queued
///   messages on, a message admitted holds a copy of its carved batches (see <see cref="HighWaterMark"/>), and the copies
///   one queue holds are bounded by <see cref="CopiedBytesMax"/> bytes: past it, a message with carved batches is dropped
///   (one batch retransmitted many times makes as many copies, where references shared it).
/// </summary>
internal sealed class OutboundQueue
{
    private readonly object _lock = new();
    private Envelope[] _ring;
    private readonly int _capacity;
    private int _head;
    private int _count;
    private bool _completed;
    private long _copiedBytes;               // held by copies in the ring and by messages taken and not yet released
    private int[]? _copiedBytesAt;           // per slot of _ring (same index): its message's copied bytes; at the first copy

    // The writers' turns, all under _lock. The pump writes only while a drain is idle (waiting for a message) and never
    // while another pump runs; a drain that wakes during a pump waits for its end (_wakeDrainAfterPump).
    private IConnection? _connection;        // the running drain's connection; null when no drain runs
    private CancellationToken _drainCancelled;
    private bool _drainIdle;
    private bool _pumping;
    private bool _wakeDrainAfterPump;
    private bool _pumpRequested;             // queued for the pump since its last run
    private ValueTask<FlushResult>? _handedFlush;   // a pumped flush the peer held back: the drain awaits it
    private bool _connectionEnded;           // a pumped flush found the connection closed
    private Exception? _pumpFailure;         // writing a message failed in the pump: the drain rethrows it

    // Set when a message arrives in an empty queue, at Complete, at a drain's cancellation and when a pump hands over.
    private readonly WakeSignal _wake = new();

    /// <param name="capacity">Messages queued at most.</param>
    /// <param name="copiedBytesMax">See <see cref="CopiedBytesMax"/> (tests set a small one).</param>
    public OutboundQueue(int capacity, int copiedBytesMax = CopiedBytesMaxDefault)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(copiedBytesMax);
        _capacity = capacity;
        _ring = new Envelope[Math.Min(capacity, InitialSlots)];
        HighWaterMark = Math.Min(capacity / 4, HighWaterMarkMax);
        CopiedBytesMax = copiedBytesMax;
    }

    /// <summary>Slots of a new queue's ring; it doubles when full, up to its capacity.</summary>
    internal const int InitialSlots = 64;

    /// <summary>Slots the ring has now (for tests).</summary>
    internal int Slots
    {
        get { lock (_lock) return _ring.Length; }
    }

    /// <summary>
    /// The queue lags once it holds this many messages, and keeps no more carved batches by reference: a message admitted
    /// from here on holds a copy of them (<see cref="OwnedFrames.RetainDetached"/>). Why: a peer that drains more slowly
    /// than the leader sends keeps this queue full, so it admits one accept per one it drains, and those are spread thinly
    /// through the order the leader carved its batches in; each one kept would pin its own 1 MiB slab long after its
    /// neighbours left the delivery ring (measured by review: 64 MiB of queued 4 KiB batches pinned all 1,024 slabs, and
    /// the arena was then off for the whole process). Below the mark the queue is healthy (a burst, a retransmitted window)
    /// and copies nothing. A carved batch is kept only when admitted below the mark, so the queue holds at most about the
    /// mark of them (exactly for the loop, its only producer of accepts; concurrent callers of <see cref="TryEnqueue"/>
    /// can each pass the mark by one), and pins at most about the mark of slabs: a quarter of the arena's cap per lagging
    /// peer at the defaults, and usually far less, as batches admitted below the mark came in a run and share slabs. The
    /// copies are not shared (the same batch queued again is copied again), so their bytes have a bound of their own,
    /// <see cref="CopiedBytesMax"/>, past which a message with carved batches is dropped.
    /// </summary>
    internal int HighWaterMark { get; }

    /// <summary>
    /// <see cref="HighWaterMark"/> at most: the default <see cref="Consensus.ConsensusOptions.Window"/>, the accepts in
    /// flight to one follower: a whole window retransmitted into an empty queue still goes by reference (messages without
    /// batches, such as heartbeats, count toward the mark, so the last accepts of a window behind them may be copied). A
    /// small queue lags at a quarter of its capacity.
    /// </summary>
    private const int HighWaterMarkMax = 256;

    /// <summary>
    /// Bytes of batch copies (made from <see cref="HighWaterMark"/> on) the queue holds at most; past it, a message whose
    /// carved batches would be copied is dropped (counted in <see cref="Dropped"/>, as when full), never kept by reference (that
    /// would pin its slab again). Why a bound: copies are not shared. References shared a batch queued many times, so the
    /// queue's batches were bounded by the distinct ones (the leader's window) whatever the queue's length; but a leader
    /// without a majority retransmits its whole unanswered window every 100 ms, and a lagging queue of 16,384 would then
    /// hold that many copies of up to 256 KiB each (<see cref="BatchArena.CarveBytesMax"/>), about 4 GiB. Dropping is
    /// allowed for every message here: consensus retransmits, and a follower fetches what it missed. Messages without
    /// carved batches (heartbeats, Accepted, acks) copy nothing and are not held back by it.
    /// </summary>
    internal long CopiedBytesMax { get; }

    /// <summary>
    /// <see cref="CopiedBytesMax"/> by default: the default <see cref="Consensus.ConsensusOptions.WindowBytes"/>, so a
    /// lagging queue's copies never hold more than one window's worth of accepts, about what its references held at most
    /// in a storm before the copies. Counted in batch bytes; the pooled arrays holding them are rounded up to a power of
    /// two, so up to twice that in arrays. A single message whose carved batches pass the bound alone (a promise carrying
    /// more than 64 MiB of accepted batches) is never admitted past the mark; below it, it goes by reference.
    /// </summary>
    public const int CopiedBytesMaxDefault = 64 << 20;

    /// <summary>Bytes of batch copies the queue holds now, messages taken for a write and not yet released included (for
    /// tests).</summary>
    internal long CopiedBytes
    {
        get { lock (_lock) return _copiedBytes; }
    }

    public long Dropped;

    /// <summary>Queues <paramref name="message"/>, retaining its batches (or copies, see <see cref="HighWaterMark"/>), and
    /// wakes the drain; false (nothing kept) when full or closed.</summary>
    public bool TryEnqueue(in Envelope message)
    {
        if (Hold(message, out var held, out int copied))
        {
            if (TryAdd(held, copied, out bool wasEmpty))
            {
                // A drain only waits after it found the queue empty, so waking at the empty-to-non-empty step is enough.
                if (wasEmpty) _wake.Set();
                return true;
            }
            ReleaseHeld(held, copied);
        }
        Interlocked.Increment(ref Dropped);
        return false;
    }

    /// <summary>
    /// Queues <paramref name="message"/> (retaining its batches, or copies, see <see cref="HighWaterMark"/>) without waking
    /// the drain: the caller runs <see cref="Pump"/> later, once for all it queued. True when the caller must remember to
    /// pump this queue (the first message since the last pump); a message dropped (full or closed) is counted, and what
    /// was taken for it released.
    /// </summary>
    public bool TryEnqueueForPump(in Envelope message)
    {
        if (Hold(message, out var held, out int copied))
        {
            lock (_lock)
            {
                if (!_completed && _count < _capacity)
                {
                    Add(held, copied);
                    bool first = !_pumpRequested;
                    _pumpRequested = true;
                    return first;
                }
            }
            ReleaseHeld(held, copied);
        }
        Interlocked.Increment(ref Dropped);
        return false;
    }

    /// <summary>
    /// What the queue will keep of <paramref name="message"/> (<paramref name="held"/>), with its own references, taken
    /// before the drain can see it (the drain releases right after writing): the message itself, its batches retained,
    /// below <see cref="HighWaterMark"/>; from there on the message holding copies of its carved batches, whose bytes
    /// (<paramref name="copied"/>) are counted toward <see cref="CopiedBytesMax"/> until <see cref="ReleaseHeld"/>. False,
    /// taking nothing, when the queue is full or the copies would pass their bound, so a lagging queue does not copy the
    /// many messages it drops.
    /// </summary>
    private bool Hold(in Envelope message, out Envelope held, out int copied)
    {
        held = default;
        copied = 0;
        // Read without the lock (the copy is made outside it): the drain only lowers the count meanwhile, so for a single
        // producer the count at the add is at most this one. Completion is checked at the add.
        int count = Volatile.Read(ref _count);
        if (count >= _capacity) return false;
        if (count < HighWaterMark)
        {
            OwnedFrames.Retain(message);
            held = message;
            return true;
        }
        long carved = OwnedFrames.CarvedBytes(message);
        if (carved > 0 && !TryCountCopy(carved)) return false;
        held = OwnedFrames.RetainDetached(message, out long copiedBytes);
        Debug.Assert(copiedBytes == carved, "copied what was counted");
        copied = (int)carved; // at most CopiedBytesMax, an int
        return true;
    }

    /// <summary>
    /// Counts <paramref name="bytes"/> of copies before they are made (under the lock: concurrent callers of
    /// <see cref="TryEnqueue"/> never pass the bound together); false when they would pass <see cref="CopiedBytesMax"/>.
    /// </summary>
    private bool TryCountCopy(long bytes)
    {
        lock (_lock)
        {
            if (bytes > CopiedBytesMax - _copiedBytes) return false;
            _copiedBytes += bytes;
            _copiedBytesAt ??= new int[_ring.Length]; // only a queue that ever lagged pays for it
            return true;
        }
    }

    /// <summary>Drops the queue's hold on <paramref name="held"/> (what <see cref="Hold"/> returned), and its
    /// <paramref name="copied"/> bytes from the count of copies.</summary>
    private void ReleaseHeld(in Envelope held, int copied)
    {
        OwnedFrames.Release(held);
        if (copied == 0) return;
        lock (_lock)
        {
            _copiedBytes -= copied;
            Debug.Assert(_copiedBytes >= 0, "copied bytes released twice");
        }
    }

    /// <summary>Refuses further messages; the drain writes what is queued and then returns.</summary>
    public void Complete()
    {
        lock (_lock) _completed = true;
        _wake.Set();
    }

    private bool TryAdd(in Envelope message, int copied, out bool wasEmpty)
    {
        lock (_lock)
        {
            wasEmpty = _count == 0;
            if (_completed || _count == _capacity) return false;
            Add(message, copied);
            return true;
        }
    }

    private void Add(in Envelope message, int copied)
    {
        Debug.Assert(Monitor.IsEntered(_lock) && _count < _capacity, "add under the lock, with room");
        if (_count == _ring.Length) Grow();
        int tail = _head + _count;
        if (tail >= _ring.Length) tail -= _ring.Length;
        _ring[tail] = message;
        if (copied > 0) _copiedBytesAt![tail] = copied; // allocated when the copy was counted; a slot taken is left 0
        _count++;
    }

    /// <summary>Doubles the ring (up to the capacity), the oldest message moving to slot 0, with its copied bytes.</summary>
    private void Grow()
    {
        int slots = (int)Math.Min((long)_ring.Length * 2, _capacity);
        _ring = InOrder(_ring, slots);
        if (_copiedBytesAt is { } copiedAt) _copiedBytesAt = InOrder(copiedAt, slots);
        _head = 0;
    }

    /// <summary>The queued slots of <paramref name="slots"/> (a ring laid out as <see cref="_ring"/>), oldest first, in a new
    /// array of <paramref name="length"/>.</summary>
    private T[] InOrder<T>(T[] slots, int length)
    {
        var ordered = new T[length];
        int first = Math.Min(_count, slots.Length - _head);
        Array.Copy(slots, _head, ordered, 0, first);
        Array.Copy(slots, 0, ordered, first, _count - first);
        return ordered;
    }

    /// <summary>What the queue holds now, oldest first (for tests).</summary>
    internal Envelope[] Queued()
    {
        lock (_lock) return InOrder(_ring, _count);
    }

    /// <summary>A drain is waiting for the pump in progress to end before it goes on or ends (for tests).</summary>
    internal bool DrainWaitsForPump
    {
        get { lock (_lock) return _pumping && _wakeDrainAfterPump; }
    }

    /// <summary>Drops the <paramref name="count"/> oldest messages unwritten, giving back what the queue held for them (for
    /// tests: moves the ring's head as a drain does, without a connection).</summary>
    internal void DropOldest(int count)
    {
        for (int i = 0; i < count && TryTake(out var message, out int copied); i++) ReleaseHeld(message, copied);
    }

    /// <summary>The oldest message and its copied bytes, which the taker gives to <see cref="ReleaseHeld"/>; false when
    /// the queue is empty.</summary>
    private bool TryTake(out Envelope message, out int copied)
    {
        lock (_lock) return TryTakeLocked(out message, out copied);
    }

    private bool TryTakeLocked(out Envelope message, out int copied)
    {
        Debug.Assert(Monitor.IsEntered(_lock), "take under the lock");
        copied = 0;
        if (_count == 0)
        {
            message = default;
            return false;
        }
        message = _ring[_head];
        Debug.Assert(message.Type != 0, "a counted slot is empty");
        _ring[_head] = default;
        if (_copiedBytesAt is { } copiedAt)
        {
            copied = copiedAt[_head];
            copiedAt[_head] = 0;
        }
        if (++_head == _ring.Length) _head = 0;
        _count--;
        return true;
    }

    /// <summary>Bytes written to the pipe before a flush within one drain or pump (the pipe's pause threshold is 1 MiB by
    /// default).</summary>
    private const long FlushEveryBytes = 1 << 20;

    /// <summary>Messages written before a flush when the writer cannot report its unflushed bytes.</summary>
    private const int FlushEveryMessages = 256;

    private static bool FlushDue(PipeWriter output, ref int unflushed) =>
        output.CanGetUnflushedBytes ? output.UnflushedBytes >= FlushEveryBytes : ++unflushed >= FlushEveryMessages;

    /// <summary>Writes one message and drops the queue's hold on it (its batches' references, its copies), written or
    /// not.</summary>
    private void WriteAndRelease(PipeWriter output, in Envelope message, int copied)
    {
        try
        {
            MessageWriter.Write(output, message);
        }
        finally
        {
            ReleaseHeld(message, copied);
        }
    }

    /// <summary>
    /// Writes <paramref name="first"/>, then queued messages until the queue is empty or the flush budget is spent; true
    /// when it is spent. The pipe applies its pause threshold only at a flush: writing a long queue (say 16,384
    /// retransmitted 1 MiB accepts to a follower that fell behind) and flushing once would copy all of it into pipe memory
    /// first. Flushing at a byte budget keeps the queue's batches as references and lets the flush wait.
    /// </summary>
    private bool WriteUpToBudget(PipeWriter output, in Envelope first, int firstCopied)
    {
        int unflushed = 0;
        var message = first;
        int copied = firstCopied;
        do
        {
            WriteAndRelease(output, message, copied);
            if (FlushDue(output, ref unflushed)) return true;
        } while (TryTake(out message, out copied));
        return false;
    }

    /// <summary>
    /// Loop thread: writes and flushes what is queued when the drain waits for messages (else the drain writes it, or the
    /// next connection's drain). Never blocks: a flush the peer holds back, a closed connection and a failed write are
    /// handed over to the drain, which the pump wakes.
    /// </summary>
    public void Pump()
    {
        IConnection connection;
        CancellationToken drainCancelled;
        lock (_lock)
        {
            _pumpRequested = false;
            if (_connection is null || !_drainIdle || _pumping || _count == 0) return;
            connection = _connection;
            drainCancelled = _drainCancelled;
            _pumping = true;
        }
        var output = connection.Output;
        ValueTask<FlushResult> flush = default;
        bool handOver = false, ended = false, budgetSpent = false;
        Exception? failure = null;
        try
        {
            // One byte budget per pump: the loop copies and sends at most that much per connection per burst; the drain,
            // off the loop thread, writes the rest (a retransmitted window, a catch-up of large fetch replies).
            if (TryTake(out var first, out int copied)) budgetSpent = WriteUpToBudget(output, first, copied);
            // With the drain's token, as the drain's own flushes: a flush the peer holds back and the drain awaits ends
            // when the drain is cancelled (else stopping would wait for a peer that never reads).
            flush = output.FlushAsync(drainCancelled);
            if (!flush.IsCompleted) handOver = true;
            else ended = flush.Result.IsCompleted;
        }
        catch (Exception e)
        {
            failure = e;
        }
        EndPump(flush, handOver, ended, budgetSpent, failure);
    }

    private void EndPump(ValueTask<FlushResult> flush, bool handOver, bool ended, bool budgetSpent, Exception? failure)
    {
        bool wake;
        lock (_lock)
        {
            _pumping = false;
            _handedFlush = handOver ? flush : null;
            _connectionEnded |= ended;
            _pumpFailure ??= failure;
            bool drainsTurn = handOver || ended || failure is not null || (budgetSpent && _count > 0);
            // The drain owns the writer from here: a later pump must not write (or flush again) before it has run.
            if (drainsTurn) _drainIdle = false;
            wake = drainsTurn || _wakeDrainAfterPump;
            _wakeDrainAfterPump = false;
        }
        if (wake) _wake.Set();
    }

    private enum DrainStep { Wait, Write, AwaitFlush, End }

    /// <summary>The drain's next step, under the lock: what a pump handed over first, then queued messages, then the end
    /// or a wait (during which the pump may write).</summary>
    private DrainStep NextDrainStep(out Envelope message, out int copied, out ValueTask<FlushResult> flush)
    {
        message = default;
        copied = 0;
        flush = default;
        lock (_lock)
        {
            if (_pumping)
            {
                _wakeDrainAfterPump = true;
                return DrainStep.Wait;
            }
            _drainIdle = false;
            if (_pumpFailure is { } failure)
            {
                _pumpFailure = null;
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }
            if (_connectionEnded) return DrainStep.End;
            if (_handedFlush is { } handed)
            {
                flush = handed;
                _handedFlush = null;
                return DrainStep.AwaitFlush;
            }
            if (TryTakeLocked(out message, out copied)) return DrainStep.Write;
            if (_completed) return DrainStep.End;
            _drainIdle = true;
            return DrainStep.Wait;
        }
    }

    /// <summary>
    /// Writes queued messages to <paramref name="connection"/> until the queue completes (and is empty) or the
    /// connection's flush reports it completed; between messages the loop's <see cref="Pump"/> may write for it. Throws
    /// <see cref="OperationCanceledException"/> when cancelled, and what a pump's write threw; whatever is still queued
    /// when it ends is released (the queue stays usable for the next connection's drain).
    /// </summary>
    public async Task DrainAsync(IConnection connection, CancellationToken cancellationToken)
    {
        // One registration per drain, not per message: cancelling wakes a drain that waits for the next message.
        using var wakeOnCancel = cancellationToken.UnsafeRegister(static wake => ((WakeSignal)wake!).Set(), _wake);
        StartDrain(connection, cancellationToken);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                switch (NextDrainStep(out var message, out int copied, out var handed))
                {
                    case DrainStep.End:
                        return;
                    case DrainStep.Wait:
                        // Completes without allocating; a stale wake (from a message already taken) only loops once more.
                        await _wake.WaitAsync().ConfigureAwait(false);
                        break;
                    case DrainStep.AwaitFlush:
                        if ((await handed.ConfigureAwait(false)).IsCompleted) return;
                        break;
                    case DrainStep.Write:
                        // Inline, not an async helper method: that would allocate a box per flush that waits.
                        var output = connection.Output;
                        bool budgetSpent;
                        do
                        {
                            budgetSpent = WriteUpToBudget(output, message, copied);
                            if ((await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted) return;
                        } while (budgetSpent && TryTake(out message, out copied));
                        break;
                }
            }
        }
        finally
        {
            await EndDrainAsync().ConfigureAwait(false);
        }
    }

    private void StartDrain(IConnection connection, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Debug.Assert(_connection is null && !_pumping, "one drain at a time");
            _connection = connection;
            _drainCancelled = cancellationToken;
            _drainIdle = false;
            _connectionEnded = false;
            _pumpFailure = null;
            _handedFlush = null;
        }
    }

    /// <summary>Waits for a pump in progress (it writes to this drain's connection), then releases what is left.</summary>
    private async ValueTask EndDrainAsync()
    {
        while (true)
        {
            lock (_lock)
            {
                if (!_pumping)
                {
                    _connection = null;
                    _drainCancelled = default;
                    _drainIdle = false;
                    // A flush handed over and never awaited: the connection is going away, and its pipe ends the flush.
                    _handedFlush = null;
                    break;
                }
                _wakeDrainAfterPump = true;
            }
            // The pump's end sets the signal (a cancellation may have set it already: then this only loops once more).
            await _wake.WaitAsync().ConfigureAwait(false);
        }
        // Whatever is left will never be written: drop its references.
        while (TryTake(out var left, out int copied)) ReleaseHeld(left, copied);
    }
}
