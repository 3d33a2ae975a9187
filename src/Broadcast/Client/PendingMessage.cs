namespace AtomicBcast.Client;

/// <summary>
/// One accepted message: a link of the intake queue and then of its run. Its bytes live in a <see cref="PayloadChunk"/>;
/// only while the queue is full does it hold its own copy (<see cref="Parked"/>). The queue reuses it once its run is
/// settled (<see cref="PublishQueue.Recycle"/>), so a message published with <see cref="Publisher.TryPublish"/> costs no
/// allocation.
/// </summary>
internal sealed class PendingMessage
{
    /// <summary>The next message of the queue, or of the run once formed (null: the last).</summary>
    public PendingMessage? Next;

    /// <summary>Its seq: the queue hands seqs out in the order messages enter it, which is the order they are sent in.</summary>
    public ulong Seq;

    /// <summary>Where the encoded message (varint length | payload) lies; null while parked.</summary>
    public PayloadChunk? Chunk;
    public int Offset;
    public int Bytes;

    /// <summary>Completes the task <see cref="Publisher.PublishAsync"/> returned; null for <see cref="Publisher.TryPublish"/>,
    /// whose callers follow <see cref="Publisher.AcknowledgedThrough"/> instead.</summary>
    public TaskCompletionSource<long>? Completion;

    /// <summary>Set while the message waits for room in a full queue (the slow path allocates).</summary>
    public ParkedPayload? Parked;

    /// <summary>Once parked, never reused: its cancellation callback may still run (Unregister does not wait for it) and
    /// must not find another caller's message in its place.</summary>
    public bool WasParked;
}

/// <summary>The copy a message keeps while it waits for room, and the registration that can withdraw it.</summary>
internal sealed class ParkedPayload(byte[] payload)
{
    public readonly byte[] Payload = payload;
    public CancellationTokenRegistration Cancellation;
}
