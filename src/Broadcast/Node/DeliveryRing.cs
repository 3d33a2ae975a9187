using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>One delivered instance as subscribers receive it; <see cref="MessageCount"/> counts delivered messages only.</summary>
internal sealed record RetainedDelivery(long Sequence, DeliverMessage Message, int MessageCount)
{
    public long EndPosition => Message.FirstPosition + MessageCount;
}

/// <summary>
/// The recent delivered stream, shared by every subscriber session of a member: the loop appends, sessions read.
/// Bounded in bytes: the oldest deliveries are evicted (their batches released) beyond <c>bytesMax</c>, which raises
/// the retention floor. A session that falls below the floor is told so; it never makes the ring grow.
/// Thread-safe (one lock; appends and lookups are short).
/// </summary>
internal sealed class DeliveryRing
{
    private readonly object _gate = new();
    // Oldest first from _head; entry i holds sequence _entries[_head].Sequence + (i - _head). Compacted when half is dead.
    private readonly List<RetainedDelivery> _entries = new();
    private int _head;
    private readonly long _bytesMax;
    private long _bytes;
    private long _nextSequence;
    private long _floorPosition;
    private long _endPosition;
    private TaskCompletionSource _appended = NewSignal();

    public DeliveryRing(long bytesMax, long startPosition)
    {
        _bytesMax = bytesMax;
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

    private int Count => _entries.Count - _head;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Appends a delivery (retaining its batch) and wakes waiting sessions.</summary>
    public void Append(in DeliverMessage delivery, int messageCount)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            var entry = new RetainedDelivery(_nextSequence++, delivery with { Batch = delivery.Batch.Retain() }, messageCount);
            _entries.Add(entry);
            _bytes += delivery.Batch.Length;
            _endPosition = entry.EndPosition;
            while (_bytes > _bytesMax && Count > 1)
            {
                var old = _entries[_head];
                _entries[_head++] = null!;
                _bytes -= old.Message.Batch.Length;
                _floorPosition = old.EndPosition;
                old.Message.Batch.Release();
            }
            if (_head > 1024 && _head > _entries.Count / 2)
            {
                _entries.RemoveRange(0, _head);
                _head = 0;
            }
            signal = _appended;
            _appended = NewSignal();
        }
        signal.TrySetResult();
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
            int low = _head, high = _entries.Count;
            while (low < high)
            {
                int middle = low + (high - low) / 2;
                if (_entries[middle].EndPosition > position) high = middle;
                else low = middle + 1;
            }
            return low < _entries.Count ? _entries[low].Sequence : _nextSequence;
        }
    }

    /// <summary>
    /// Copies up to <paramref name="countMax"/> deliveries from <paramref name="sequence"/> on into <paramref name="into"/>,
    /// each batch retained (the caller releases). False when <paramref name="sequence"/> was already evicted.
    /// </summary>
    public bool TryRead(long sequence, int countMax, List<RetainedDelivery> into, out Task more)
    {
        lock (_gate)
        {
            more = _appended.Task;
            if (Count == 0) return sequence >= _nextSequence;
            long first = _entries[_head].Sequence;
            if (sequence < first) return false;
            for (long i = _head + (sequence - first); i < _entries.Count && into.Count < countMax; i++)
            {
                var entry = _entries[(int)i];
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
            for (int i = _entries.Count - 1; i >= _head && seen++ < deliveriesMax; i--)
                if (TryFindRun(_entries[i].Message, producerId, firstSeq, count, out position)) return true;
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
        TaskCompletionSource signal;
        lock (_gate)
        {
            ReleaseHeld();
            _nextSequence++;
            _floorPosition = _endPosition = position;
            signal = _appended;
            _appended = NewSignal();
        }
        signal.TrySetResult();
    }

    /// <summary>Releases everything (at stop).</summary>
    public void Clear()
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            ReleaseHeld();
            signal = _appended;
        }
        signal.TrySetResult();
    }

    private void ReleaseHeld()
    {
        for (int i = _head; i < _entries.Count; i++) _entries[i].Message.Batch.Release();
        _entries.Clear();
        _head = 0;
        _bytes = 0;
    }
}
