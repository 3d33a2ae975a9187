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

    /// <summary>Completes every message with its position (<see cref="Publisher.PositionUnknown"/> for all when the
    /// first is unknown) and releases the chunk. The run is then free for reuse.</summary>
    public void Acknowledge(long firstPosition)
    {
        long position = firstPosition;
        for (var m = TakeMessages(); m is not null; m = Unlink(m))
        {
            m.TrySetResult(position);
            if (firstPosition != Publisher.PositionUnknown) position++;
        }
    }

    /// <summary>Fails every message and releases the chunk.</summary>
    public void Fail(Exception failure)
    {
        for (var m = TakeMessages(); m is not null; m = Unlink(m)) m.TrySetException(failure);
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
