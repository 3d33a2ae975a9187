using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>What a <see cref="LoopEvent"/> carries to the member's loop.</summary>
internal enum LoopEventKind : byte
{
    /// <summary>A message from peer <see cref="LoopEvent.From"/> (the event owns one reference of its batches).</summary>
    PeerMessage,

    /// <summary>A publisher's run from <see cref="LoopEvent.Session"/> (the event owns one reference of its run).</summary>
    Publish,

    /// <summary>A failure found off the loop (a failed trim, a corrupt log read) that must halt the member.</summary>
    Failure,
}

/// <summary>
/// One event for the member's loop thread. A struct in the loop's bounded channel, and the message in an
/// <see cref="Envelope"/>, so posting a received message allocates nothing (a closure per message did, and then a boxed
/// message per frame).
/// </summary>
internal readonly struct LoopEvent
{
    public LoopEventKind Kind { get; }
    public ushort From { get; }
    public Envelope Message { get; }
    public ClientSession? Session { get; }
    public Exception? Failure { get; }

    private LoopEvent(LoopEventKind kind, ushort from, in Envelope message, ClientSession? session, Exception? failure)
    {
        Kind = kind;
        From = from;
        Message = message;
        Session = session;
        Failure = failure;
    }

    public static LoopEvent PeerMessage(ushort from, in Envelope message) => new(LoopEventKind.PeerMessage, from, message, null, null);

    /// <summary>A <see cref="PublishMessage"/> in the envelope the reader produced.</summary>
    public static LoopEvent Publish(ClientSession session, in Envelope publish) => new(LoopEventKind.Publish, 0, publish, session, null);

    public static LoopEvent Fail(Exception failure) => new(LoopEventKind.Failure, 0, default, null, failure);
}
