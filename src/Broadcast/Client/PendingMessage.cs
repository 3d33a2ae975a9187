namespace AtomicBcast.Client;

/// <summary>
/// One accepted message: it IS the completion source of the task <see cref="Publisher.PublishAsync"/> returns (one
/// object per message besides that task), and a link of the intake queue and then of its run. Its bytes live in a
/// <see cref="PayloadChunk"/>; only while the queue is full does it hold its own copy (<see cref="Parked"/>).
/// </summary>
internal sealed class PendingMessage() : TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    /// <summary>The next message of the queue, or of the run once formed (null: the last).</summary>
    public PendingMessage? Next;

    /// <summary>Where the encoded message (varint length | payload) lies; null while parked.</summary>
    public PayloadChunk? Chunk;
    public int Offset;
    public int Bytes;

    /// <summary>Set while the message waits for room in a full queue (the slow path allocates).</summary>
    public ParkedPayload? Parked;
}

/// <summary>The copy a message keeps while it waits for room, and the registration that can withdraw it.</summary>
internal sealed class ParkedPayload(byte[] payload)
{
    public readonly byte[] Payload = payload;
    public CancellationTokenRegistration Cancellation;
}
