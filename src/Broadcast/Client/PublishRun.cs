namespace AtomicBcast.Client;

/// <summary>
/// A run: consecutive messages (seqs <see cref="FirstSeq"/>..<see cref="LastSeq"/>) whose encoded bytes are one slice
/// of one chunk. Its boundaries never change once formed, so a resend is recognised by the cluster. Reused after it is
/// settled (the publisher keeps a free list); <see cref="InFlight"/> tells a live run from a settled one.
/// </summary>
internal sealed class PublishRun
{
    public ulong FirstSeq;
    public int Count;
    public PendingMessage? First;
    public PayloadChunk? Chunk;
    public int Offset;
    public int Bytes;
    public long SentAtMs;

    public bool InFlight => First is not null;

    public ulong LastSeq => FirstSeq + (ulong)Count - 1;

    /// <summary>The encoded messages section (count x (varint | payload)), valid while in flight.</summary>
    public ReadOnlySpan<byte> Messages => Chunk!.Buffer.AsSpan(Offset, Bytes);

    /// <summary>Completes every message that has a task with its position (<see cref="Publisher.PositionUnknown"/> for all
    /// when the first is unknown), hands the messages back to <paramref name="queue"/> for reuse and releases the chunk.
    /// The run is then free for reuse.</summary>
    public void Acknowledge(long firstPosition, PublishQueue queue)
    {
        var first = TakeMessages();
        long position = firstPosition;
        for (var m = first; m is not null; m = m.Next)
        {
            m.Completion?.TrySetResult(position);
            if (firstPosition != Publisher.PositionUnknown) position++;
        }
        queue.Recycle(first);
    }

    /// <summary>Fails every message that has a task and releases the chunk.</summary>
    public void Fail(Exception failure)
    {
        for (var m = TakeMessages(); m is not null; m = Unlink(m)) m.Completion?.TrySetException(failure);
    }

    private PendingMessage? TakeMessages()
    {
        var first = First;
        First = null;
        Chunk?.Release();
        Chunk = null;
        return first;
    }

    private static PendingMessage? Unlink(PendingMessage message)
    {
        var next = message.Next;
        message.Next = null;
        message.Chunk = null;
        return next;
    }
}
