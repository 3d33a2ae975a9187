using System.Runtime.CompilerServices;

namespace AtomicBcast.Wire;

/// <summary>
/// Any protocol message as one value, so a member can read, post, queue and write its steady traffic without a heap object
/// per frame. Why: a boxed message struct per frame (accepts, acks, heartbeats, publish runs) was nearly all a member
/// allocated at load, and the boxes in flight at each gen1 collection were what its gen2 collections came from.
///
/// The messages of the steady state and of elections are held inline: their fixed fields in four 64-bit words and a few
/// small ones, and their batch (the one reference they carry) in <see cref="_ref"/>. The rare ones with arrays or strings
/// (hello, error, promise, checkpoint, deliver, status reply) are held boxed in <see cref="_ref"/>; the queues that carry
/// envelopes never see them at message rates.
///
/// Build one by conversion from the message struct (implicit), and read it back with the accessor of its
/// <see cref="Type"/>; an accessor of another type throws. A batch an envelope carries is an owned reference exactly as in
/// the message it was built from: the envelope is only another way to hold the message.
/// </summary>
internal readonly struct Envelope
{
    private readonly object? _ref;   // the batch of an inline message (Accept, FetchReply, Publish), or the boxed message
    private readonly long _a, _b, _c, _d;
    private readonly int _count;
    private readonly ushort _node;
    private readonly byte _small;    // a bool or a byte-sized enum

    public MessageType Type { get; }

    private Envelope(MessageType type, long a = 0, long b = 0, long c = 0, long d = 0, int count = 0, ushort node = 0, byte small = 0,
        object? reference = null)
    {
        Type = type;
        _a = a;
        _b = b;
        _c = c;
        _d = d;
        _count = count;
        _node = node;
        _small = small;
        _ref = reference;
    }

    /// <summary>Types held boxed: each carries an array or a string, and none comes at message rates.</summary>
    public static bool IsBoxedType(MessageType type) => type is MessageType.Hello or MessageType.Error or MessageType.Promise
        or MessageType.Checkpoint or MessageType.Deliver or MessageType.StatusReply;

    /// <summary>The batch an inline message carries (Accept, Publish, FetchReply when chosen); null for every other type.</summary>
    public BatchBuffer? InlineBatch => IsBoxedType(Type) ? null : _ref as BatchBuffer;

    private static long Bits(Ballot ballot) => unchecked((long)ballot.Value);
    private static long Bits(ulong value) => unchecked((long)value);
    private Ballot BallotA => new(unchecked((ulong)_a));

    public static implicit operator Envelope(in PreVoteMessage m) => new(MessageType.PreVote, Bits(m.Ballot), m.LogEnd, m.CommitUpTo);
    public static implicit operator Envelope(in PreVoteReplyMessage m) =>
        new(MessageType.PreVoteReply, Bits(m.Ballot), m.LogEnd, small: m.Granted ? (byte)1 : (byte)0);
    public static implicit operator Envelope(in PrepareMessage m) => new(MessageType.Prepare, Bits(m.Ballot), m.FromInstance);
    public static implicit operator Envelope(in AcceptMessage m) =>
        new(MessageType.Accept, Bits(m.Ballot), m.Instance, m.CommitUpTo, reference: m.Batch);
    public static implicit operator Envelope(in AcceptedMessage m) =>
        new(MessageType.Accepted, Bits(m.Ballot), m.FirstInstance, m.LastInstance);
    public static implicit operator Envelope(in RejectedMessage m) =>
        new(MessageType.Rejected, Bits(m.Ballot), m.Instance, Bits(m.Promised));
    public static implicit operator Envelope(in HeartbeatMessage m) => new(MessageType.Heartbeat, Bits(m.Ballot), m.CommitUpTo);
    public static implicit operator Envelope(in FetchMessage m) =>
        new(MessageType.Fetch, b: m.FromInstance, c: m.BytesMax, count: m.CountMax);
    public static implicit operator Envelope(in FetchReplyMessage m) =>
        new(MessageType.FetchReply, Bits(m.Ballot), m.Instance, small: (byte)m.Status, reference: m.Batch);
    public static implicit operator Envelope(in PublishMessage m) =>
        new(MessageType.Publish, Bits(m.ProducerId), Bits(m.FirstSeq), count: m.Count, reference: m.Run);
    public static implicit operator Envelope(in PublishAckMessage m) => new(MessageType.PublishAck, Bits(m.ProducerId), Bits(m.FirstSeq),
        m.Position, Bits(m.ExpectedSeq), m.Count, m.LeaderId, (byte)m.Status);
    public static implicit operator Envelope(in SubscribeMessage m) => new(MessageType.Subscribe, b: m.FromPosition);
    public static implicit operator Envelope(in StatusRequestMessage m) => new(MessageType.StatusRequest);
    public static implicit operator Envelope(in HelloMessage m) => new(MessageType.Hello, reference: m);
    public static implicit operator Envelope(in ErrorMessage m) => new(MessageType.Error, reference: m);
    public static implicit operator Envelope(in PromiseMessage m) => new(MessageType.Promise, reference: m);
    public static implicit operator Envelope(in CheckpointMessage m) => new(MessageType.Checkpoint, reference: m);
    public static implicit operator Envelope(in DeliverMessage m) => new(MessageType.Deliver, reference: m);
    public static implicit operator Envelope(in StatusReplyMessage m) => new(MessageType.StatusReply, reference: m);

    public PreVoteMessage AsPreVote() { Expect(MessageType.PreVote); return new(BallotA, _b, _c); }
    public PreVoteReplyMessage AsPreVoteReply() { Expect(MessageType.PreVoteReply); return new(BallotA, _small != 0, _b); }
    public PrepareMessage AsPrepare() { Expect(MessageType.Prepare); return new(BallotA, _b); }
    public AcceptMessage AsAccept() { Expect(MessageType.Accept); return new(BallotA, _b, _c, (BatchBuffer)_ref!); }
    public AcceptedMessage AsAccepted() { Expect(MessageType.Accepted); return new(BallotA, _b, _c); }
    public RejectedMessage AsRejected() { Expect(MessageType.Rejected); return new(BallotA, _b, new Ballot(unchecked((ulong)_c))); }
    public HeartbeatMessage AsHeartbeat() { Expect(MessageType.Heartbeat); return new(BallotA, _b); }
    public FetchMessage AsFetch() { Expect(MessageType.Fetch); return new(_b, _count, (int)_c); }

    public FetchReplyMessage AsFetchReply()
    {
        Expect(MessageType.FetchReply);
        return new(_b, BallotA, (FetchStatus)_small, (BatchBuffer?)_ref);
    }

    public PublishMessage AsPublish()
    {
        Expect(MessageType.Publish);
        return new(unchecked((ulong)_a), unchecked((ulong)_b), _count, (BatchBuffer)_ref!);
    }

    public PublishAckMessage AsPublishAck()
    {
        Expect(MessageType.PublishAck);
        return new(unchecked((ulong)_a), unchecked((ulong)_b), _count, (PublishStatus)_small, _c, unchecked((ulong)_d), _node);
    }

    public SubscribeMessage AsSubscribe() { Expect(MessageType.Subscribe); return new(_b); }
    public StatusRequestMessage AsStatusRequest() { Expect(MessageType.StatusRequest); return default; }
    public HelloMessage AsHello() { Expect(MessageType.Hello); return (HelloMessage)_ref!; }
    public ErrorMessage AsError() { Expect(MessageType.Error); return (ErrorMessage)_ref!; }
    public PromiseMessage AsPromise() { Expect(MessageType.Promise); return (PromiseMessage)_ref!; }
    public CheckpointMessage AsCheckpoint() { Expect(MessageType.Checkpoint); return (CheckpointMessage)_ref!; }
    public DeliverMessage AsDeliver() { Expect(MessageType.Deliver); return (DeliverMessage)_ref!; }
    public StatusReplyMessage AsStatusReply() { Expect(MessageType.StatusReply); return (StatusReplyMessage)_ref!; }

    /// <summary>Throws when the envelope holds another type (a caller's bug, never the peer's).</summary>
    private void Expect(MessageType type, [CallerMemberName] string? accessor = null)
    {
        if (Type != type) throw new InvalidOperationException($"{accessor} of an envelope holding {Type}");
    }

    /// <summary>The message as its struct, boxed (tests, tools, logging; allocates for the inline types).</summary>
    public object ToObject() => Type switch
    {
        MessageType.PreVote => AsPreVote(),
        MessageType.PreVoteReply => AsPreVoteReply(),
        MessageType.Prepare => AsPrepare(),
        MessageType.Accept => AsAccept(),
        MessageType.Accepted => AsAccepted(),
        MessageType.Rejected => AsRejected(),
        MessageType.Heartbeat => AsHeartbeat(),
        MessageType.Fetch => AsFetch(),
        MessageType.FetchReply => AsFetchReply(),
        MessageType.Publish => AsPublish(),
        MessageType.PublishAck => AsPublishAck(),
        MessageType.Subscribe => AsSubscribe(),
        MessageType.StatusRequest => AsStatusRequest(),
        _ when IsBoxedType(Type) => _ref!,
        _ => throw new InvalidOperationException($"an empty envelope ({Type})"),
    };

    /// <summary>The envelope of a boxed message struct (tests, tools); throws for anything else.</summary>
    public static Envelope FromObject(object message) => message switch
    {
        PreVoteMessage m => m,
        PreVoteReplyMessage m => m,
        PrepareMessage m => m,
        AcceptMessage m => m,
        AcceptedMessage m => m,
        RejectedMessage m => m,
        HeartbeatMessage m => m,
        FetchMessage m => m,
        FetchReplyMessage m => m,
        PublishMessage m => m,
        PublishAckMessage m => m,
        SubscribeMessage m => m,
        StatusRequestMessage m => m,
        HelloMessage m => m,
        ErrorMessage m => m,
        PromiseMessage m => m,
        CheckpointMessage m => m,
        DeliverMessage m => m,
        StatusReplyMessage m => m,
        _ => throw new ArgumentException($"not a message: {message.GetType()}", nameof(message)),
    };

    /// <summary>The message, or "(empty)" for a default envelope (a failure's <c>LoopEvent</c> carries one).</summary>
    public override string ToString() => Type == 0 ? "(empty)" : ToObject().ToString() ?? Type.ToString();
}
