using System.Diagnostics;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// The publisher's intake: many callers copy their payloads in, one send loop takes runs out.
/// <para>Requirements: the copy happens at call time; the order of acceptance is the seq order (FIFO), also for calls
/// that had to wait for room; memory is bounded by <c>messagesMax</c> queued messages (callers beyond it wait, parked in
/// call order, each with its own copy: the slow path). The fast path allocates nothing: the payload is encoded straight
/// into the current <see cref="PayloadChunk"/> and a reused message linked to the queue (<see cref="Recycle"/>).</para>
/// One lock guards everything here; it is held for one copy per call and one run per take.
/// </summary>
internal sealed class PublishQueue
{
    private const int FirstChunkBytes = 16 * 1024;
    private readonly object _lock = new();
    private readonly int _messagesMax;
    private readonly int _chunkBytesMax;
    private int _nextChunkBytes = FirstChunkBytes;
    private PayloadChunk? _chunk;
    private PendingMessage? _head, _tail;
    private int _count;
    private PendingMessage? _parkedHead, _parkedTail;
    private bool _completed;
    private ulong _lastSeq;                 // the seq of the last message appended (seqs start at 1)
    private PendingMessage? _reusable;      // settled messages for reuse, linked by Next
    private PendingMessage? _returned;      // settled messages handed back by Recycle (no lock), taken whole by Take

    /// <param name="messagesMax">Messages queued (accepted, not yet in a run) before callers wait.</param>
    /// <param name="chunkBytesMax">Chunks grow by doubling up to this (a larger message gets a chunk of its own size).</param>
    public PublishQueue(int messagesMax, int chunkBytesMax)
    {
        _messagesMax = messagesMax;
        _chunkBytesMax = Math.Max(FirstChunkBytes, chunkBytesMax);
    }

    /// <summary>
    /// Accepts a message that completes <paramref name="completion"/>, copying <paramref name="payload"/> now. False once
    /// completed. <paramref name="queued"/> false: the queue was full and the message is parked (cancelling
    /// <paramref name="cancellationToken"/> withdraws it while it still waits); the send loop moves it in, in call order,
    /// as room appears.
    /// </summary>
    public bool Enqueue(ReadOnlySpan<byte> payload, TaskCompletionSource<long> completion, CancellationToken cancellationToken, out bool queued)
    {
        lock (_lock)
        {
            queued = false;
            if (_completed) return false;
            var message = Take();
            message.Completion = completion;
            if (_count < _messagesMax && _parkedHead is null)
            {
                Append(message, payload);
                queued = true;
                return true;
            }
            Park(message, payload.ToArray(), cancellationToken);
            return true;
        }
    }

    /// <summary>
    /// Accepts a message without a completion, copying <paramref name="payload"/> now, when there is room and nobody waits
    /// for it; <paramref name="seq"/> is its seq. False when the queue is full (<paramref name="completed"/> false) or
    /// completed (true).
    /// </summary>
    public bool TryAccept(ReadOnlySpan<byte> payload, out ulong seq, out bool completed)
    {
        lock (_lock)
        {
            seq = 0;
            completed = _completed;
            if (_completed || _count >= _messagesMax || _parkedHead is not null) return false;
            var message = Take();
            Append(message, payload);
            seq = message.Seq;
            return true;
        }
    }

    /// <summary>
    /// Takes back the settled messages of a run (linked by Next from <paramref name="first"/>) for reuse; a message once
    /// parked is dropped (see <see cref="PendingMessage.WasParked"/>). Without the lock: the thread that reads answers
    /// must not wait for callers copying payloads in. Messages are only made when none is free, so there are never more
    /// than the most a publisher has had alive at once (bounded by the queue and the window).
    /// </summary>
    public void Recycle(PendingMessage? first)
    {
        PendingMessage? head = null, tail = null;
        while (first is not null)
        {
            var message = first;
            first = message.Next;
            (message.Next, message.Chunk, message.Completion) = (head, null, null);
            if (message.WasParked)
            {
                message.Next = null;
                continue;
            }
            head = message;
            tail ??= message;
        }
        if (head is null) return;
        // Many threads may push; Take only ever swaps the whole list out, so a compare-and-swap push is safe here.
        PendingMessage? seen;
        do
        {
            seen = Volatile.Read(ref _returned);
            tail!.Next = seen;
        }
        while (Interlocked.CompareExchange(ref _returned, head, seen) != seen);
    }

    /// <summary>A free message, else a new one; under the lock.</summary>
    private PendingMessage Take()
    {
        var message = _reusable ?? Interlocked.Exchange(ref _returned, null);
        if (message is null) return new PendingMessage();
        _reusable = message.Next;
        message.Next = null;
        return message;
    }

    /// <summary>
    /// Detaches the next run (send loop only): consecutive messages of one chunk, at most <paramref name="messagesMax"/>
    /// and <paramref name="bytesMax"/> encoded bytes (a single larger message still forms a run). Fills
    /// <paramref name="run"/>'s messages, chunk (retained for the run) and slice; false when nothing is queued.
    /// </summary>
    public bool TryTakeRun(int messagesMax, int bytesMax, PublishRun run)
    {
        lock (_lock)
        {
            var first = _head;
            if (first is null) return false;
            var chunk = first.Chunk!;
            int count = 0, bytes = 0;
            PendingMessage last = first;
            for (var m = first; m is not null && m.Chunk == chunk && count < messagesMax; m = m.Next)
            {
                if (count > 0 && bytes + m.Bytes > bytesMax) break;
                Debug.Assert(m.Offset == first.Offset + bytes, "a chunk's messages lie back to back in queue order");
                bytes += m.Bytes;
                count++;
                last = m;
            }
            _head = last.Next;
            if (_head is null) _tail = null;
            last.Next = null;
            _count -= count;
            chunk.Retain();
            chunk.Unformed -= count;
            if (chunk.Sealed && chunk.Unformed == 0) chunk.Release(); // the intake's reference
            (run.First, run.Count, run.Chunk, run.Offset, run.Bytes) = (first, count, chunk, first.Offset, bytes);
            UnparkWhileRoom();
            return true;
        }
    }

    /// <summary>Refuses further messages and fails every queued or parked one; releases the current chunk.</summary>
    public void Complete(Exception failure)
    {
        PendingMessage? queued, parked;
        lock (_lock)
        {
            if (_completed) return;
            _completed = true;
            (queued, parked) = (_head, _parkedHead);
            _head = _tail = _parkedHead = _parkedTail = null;
            _count = 0;
            for (var m = queued; m is not null; m = m.Next)
                if (--m.Chunk!.Unformed == 0 && m.Chunk.Sealed) m.Chunk.Release();
            if (_chunk is { } current)
            {
                current.Sealed = true;
                if (current.Unformed == 0) current.Release();
            }
            _chunk = null;
        }
        for (var m = queued; m is not null; m = Detach(m)) m.Completion?.TrySetException(failure);
        for (var m = parked; m is not null; m = Detach(m))
        {
            m.Parked!.Cancellation.Unregister();
            m.Completion!.TrySetException(failure);
        }
    }

    private static PendingMessage? Detach(PendingMessage message)
    {
        var next = message.Next;
        (message.Next, message.Chunk) = (null, null);
        return next;
    }

    private void Append(PendingMessage message, ReadOnlySpan<byte> payload)
    {
        int bytes = RunWriter.MessageSize(payload.Length);
        var chunk = ChunkWithRoom(bytes);
        var span = chunk.Buffer.AsSpan(chunk.Written, bytes);
        int prefix = Varint.Write(span, (uint)payload.Length);
        payload.CopyTo(span[prefix..]);
        (message.Chunk, message.Offset, message.Bytes, message.Seq) = (chunk, chunk.Written, bytes, ++_lastSeq);
        chunk.Written += bytes;
        chunk.Unformed++;
        if (_tail is null) _head = message;
        else _tail.Next = message;
        _tail = message;
        _count++;
    }

    /// <summary>The current chunk if <paramref name="bytes"/> fit (rewound first when nothing uses it any more), else a new
    /// one; the old one is sealed and loses the intake's reference once its last message is formed into a run.</summary>
    private PayloadChunk ChunkWithRoom(int bytes)
    {
        var chunk = _chunk;
        if (chunk is not null && chunk.Unformed == 0 && chunk.Written > 0 && chunk.OnlyIntakeHolds) chunk.Written = 0;
        if (chunk is not null && chunk.Buffer.Length - chunk.Written >= bytes) return chunk;
        if (chunk is not null)
        {
            chunk.Sealed = true;
            if (chunk.Unformed == 0) chunk.Release();
        }
        _chunk = new PayloadChunk(Math.Max(bytes, _nextChunkBytes));
        _nextChunkBytes = Math.Min(_chunkBytesMax, 2 * _nextChunkBytes);
        return _chunk;
    }

    private void Park(PendingMessage message, byte[] copy, CancellationToken cancellationToken)
    {
        message.Parked = new ParkedPayload(copy);
        message.WasParked = true;
        if (_parkedTail is null) _parkedHead = message;
        else _parkedTail.Next = message;
        _parkedTail = message;
        // Registered under the lock: a token already cancelled runs the callback here, re-entering the lock (allowed).
        if (cancellationToken.CanBeCanceled)
            message.Parked.Cancellation = cancellationToken.Register(() => Withdraw(message, cancellationToken));
    }

    /// <summary>A parked caller gave up: the message leaves the parked list unless it was already moved in.</summary>
    private void Withdraw(PendingMessage message, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Moved in already, or the queue completed: Complete owns the parked list then (it walks it outside the lock).
            if (message.Parked is null || _completed) return;
            PendingMessage? previous = null;
            for (var m = _parkedHead; m is not null && m != message; m = m.Next) previous = m;
            if (previous is null) _parkedHead = message.Next;
            else previous.Next = message.Next;
            if (_parkedTail == message) _parkedTail = previous;
            (message.Next, message.Parked) = (null, null);
        }
        message.Completion!.TrySetCanceled(cancellationToken);
    }

    private void UnparkWhileRoom()
    {
        while (_parkedHead is { } message && _count < _messagesMax)
        {
            _parkedHead = message.Next;
            if (_parkedHead is null) _parkedTail = null;
            var parked = message.Parked!;
            (message.Next, message.Parked) = (null, null);
            parked.Cancellation.Unregister(); // not Dispose: that would wait for a callback blocked on our lock
            Append(message, parked.Payload);
        }
    }
}
