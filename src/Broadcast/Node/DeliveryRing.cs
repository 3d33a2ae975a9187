using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>One delivered instance as subscribers receive it; <see cref="MessageCount"/> counts delivered messages only.</summary>
internal readonly record struct RetainedDelivery(long Sequence, DeliverMessage Message, int MessageCount)
{
    public long EndPosition => Message.FirstPosition + MessageCount;
}

/// <summary>
/// The recent delivered stream, shared by every subscriber session of a member: the loop appends, sessions read.
/// Bounded in bytes and in deliveries: the oldest deliveries are evicted (their batches released) beyond <c>bytesMax</c>
/// batch bytes or <c>deliveriesMax</c> deliveries, which raises the retention floor. The second bound is for small
/// batches: each delivery also costs its entry and its batch's object (about 150 bytes that the byte bound does not
/// count), and a ring that took 256 MiB of 100-byte batches would hold 2.7 million of them and keep doubling its array
/// (large-object allocations, then gen2 collections) for the better part of an hour at a thousand deliveries a second.
/// A session that falls below the floor is told so; it never makes the ring grow.
/// Thread-safe (one lock; appends and lookups are short). Allocates nothing per append, read or wait once warm: the
/// entries are structs in a circular array that grows only while both bounds admit more of them, and waiting
/// sessions are woken through their own reusable <see cref="DeliveryWaiter"/> (see DeliveryRing.Waiters.cs).
/// </summary>
internal sealed partial class DeliveryRing
{
    private readonly object _gate = new();
    // Oldest first from _head, _count of them, circular (the length is a power of two). Entry i (0 = oldest) holds
    // sequence _nextSequence - _count + i: sequences are consecutive among the held entries.
    private RetainedDelivery[] _entries = new RetainedDelivery[16];
    private int _head;
    private int _count;
    private readonly long _bytesMax;
    private readonly int _deliveriesMax;
    private long _bytes;
    private long _nextSequence;
    private long _floorPosition;
    private long _endPosition;

    /// <summary>Deliveries held at most unless the caller says otherwise: at a thousand deliveries a second, the last 16 s
    /// (older positions are served from the log); with 64 KiB batches the byte bound (32 MiB by default: 512) comes first.</summary>
    public const int DeliveriesMaxDefault = 1 << 14;

    public DeliveryRing(long bytesMax, long startPosition, int deliveriesMax = DeliveriesMaxDefault)
    {
        if (deliveriesMax < 1) throw new ArgumentOutOfRangeException(nameof(deliveriesMax), deliveriesMax, "at least 1");
        _bytesMax = bytesMax;
        _deliveriesMax = deliveriesMax;
        _floorPosition = _endPosition = startPosition;
    }

    /// <summary>The earliest position a subscriber can still start from.</summary>
    public long FloorPosition
    {
        get { lock (_gate) return _floorPosition; }
    }

    /// <summary>The position the next delivered message will take.</summary>
    public long EndPosition
    {
        get { lock (_gate) return _endPosition; }
    }

    /// <summary>Batch bytes held (at most bytesMax, or the one newest delivery).</summary>
    public long RetainedBytes
    {
        get { lock (_gate) return _bytes; }
    }

    /// <summary>Entries the array has room for (grows by doubling, never shrinks); for tests.</summary>
    internal int Capacity
    {
        get { lock (_gate) return _entries.Length; }
    }

    /// <summary>The entry <paramref name="index"/> places after the oldest (under the lock).</summary>
    private ref RetainedDelivery At(int index) => ref _entries[(_head + index) & (_entries.Length - 1)];

    /// <summary>Appends a delivery (retaining its batch) and wakes waiting sessions (outside the lock).</summary>
    public void Append(in DeliverMessage delivery, int messageCount)
    {
        List<DeliveryWaiter>? woken;
        lock (_gate)
        {
            int length = delivery.Batch.Length;
            // Evict before adding (the same result as adding first, as the newest delivery is always kept), so the array
            // need not grow by the one entry that is about to go.
            while (_count > 0 && (_bytes + length > _bytesMax || _count >= _deliveriesMax)) EvictOldest();
            if (_count == _entries.Length) Grow();
            var entry = new RetainedDelivery(_nextSequence++, delivery with { Batch = delivery.Batch.Retain() }, messageCount);
            At(_count++) = entry;
            _bytes += length;
            _endPosition = entry.EndPosition;
            woken = TakeWaiting();
        }
        Wake(woken);
    }

    private void EvictOldest()
    {
        ref var old = ref _entries[_head];
        _bytes -= old.Message.Batch.Length;
        _floorPosition = old.EndPosition;
        old.Message.Batch.Release();
        old = default;
        _head = (_head + 1) & (_entries.Length - 1);
        _count--;
    }

    private void Grow()
    {
        var grown = new RetainedDelivery[_entries.Length * 2];
        for (int i = 0; i < _count; i++) grown[i] = At(i);
        _entries = grown;
        _head = 0;
    }

    /// <summary>
    /// The sequence number of the first delivery holding a position >= <paramref name="position"/> (or the next one to
    /// come), or -1 when the position is below the floor.
    /// </summary>
    public long Locate(long position)
    {
        lock (_gate)
        {
            if (position < _floorPosition) return -1;
            // Binary search: the first entry whose end is above the position (ends grow with the sequence).
            int low = 0, high = _count;
            while (low < high)
            {
                int middle = low + (high - low) / 2;
                if (At(middle).EndPosition > position) high = middle;
                else low = middle + 1;
            }
            return low < _count ? At(low).Sequence : _nextSequence;
        }
    }

    /// <summary>
    /// Copies up to <paramref name="countMax"/> deliveries from <paramref name="sequence"/> on into <paramref name="into"/>,
    /// each batch retained (the caller releases). False when <paramref name="sequence"/> was already evicted. Reading
    /// nothing means the sequence is not delivered yet: wait for it with <see cref="WaitAsync"/>.
    /// </summary>
    public bool TryRead(long sequence, int countMax, List<RetainedDelivery> into)
    {
        lock (_gate)
        {
            if (_count == 0) return sequence >= _nextSequence;
            long first = _entries[_head].Sequence;
            if (sequence < first) return false;
            for (long i = sequence - first; i < _count && into.Count < countMax; i++)
            {
                ref readonly var entry = ref At((int)i);
                entry.Message.Batch.Retain();
                into.Add(entry);
            }
            return true;
        }
    }

    /// <summary>
    /// The position of the first message of run (<paramref name="producerId"/>, <paramref name="firstSeq"/>,
    /// <paramref name="count"/>) among the newest <paramref name="deliveriesMax"/> deliveries, if it was delivered there.
    /// Used to answer a retried run with the position its first attempt took. Cold path: scans batches.
    /// </summary>
    public bool TryFindRun(ulong producerId, ulong firstSeq, int count, int deliveriesMax, out long position)
    {
        lock (_gate)
        {
            int seen = 0;
            for (int i = _count - 1; i >= 0 && seen++ < deliveriesMax; i--)
                if (TryFindRun(At(i).Message, producerId, firstSeq, count, out position)) return true;
        }
        position = -1;
        return false;
    }

    private static bool TryFindRun(in DeliverMessage delivery, ulong producerId, ulong firstSeq, int count, out long position)
    {
        using var opened = BatchReader.Open(delivery.Batch.Span);
        var runs = opened.EnumerateRuns();
        int index = 0, skip = 0;
        position = delivery.FirstPosition;
        while (runs.MoveNext())
        {
            var run = runs.Current;
            bool skipped = skip < delivery.SkippedRuns.Length && delivery.SkippedRuns[skip] == index;
            if (skipped) skip++;
            else if (run.ProducerId == producerId && run.FirstSeq == firstSeq && run.Count == count) return true;
            else position += run.Count;
            index++;
        }
        return false;
    }

    /// <summary>
    /// The learner jumped to <paramref name="position"/> (state transfer): the stream restarts there. Everything held is
    /// released, and the sequence skips one number so that a session waiting for the next delivery cannot take the first
    /// one after the jump as its successor: it, and any subscriber below the position, is told it is below the floor.
    /// </summary>
    public void Restart(long position)
    {
        List<DeliveryWaiter>? woken;
        lock (_gate)
        {
            ReleaseHeld();
            _nextSequence++;
            _floorPosition = _endPosition = position;
            woken = TakeWaiting();
        }
        Wake(woken);
    }

    /// <summary>Releases everything (at stop); from now on waits complete at once.</summary>
    public void Clear()
    {
        List<DeliveryWaiter>? woken;
        lock (_gate)
        {
            ReleaseHeld();
            _closed = true;
            woken = TakeWaiting();
        }
        Wake(woken);
    }

    private void ReleaseHeld()
    {
        for (int i = 0; i < _count; i++) At(i).Message.Batch.Release();
        Array.Clear(_entries);
        _head = 0;
        _count = 0;
        _bytes = 0;
    }
}
