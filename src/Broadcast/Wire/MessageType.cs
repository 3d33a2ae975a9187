namespace AtomicBcast.Wire;

/// <summary>The type byte of a frame. Values are part of the protocol: never renumber.</summary>
public enum MessageType : byte
{
    // Connection
    Hello = 1,
    Error = 2,

    // Member <-> member (consensus)
    PreVote = 10,
    PreVoteReply = 11,
    Prepare = 12,
    Promise = 13,
    Accept = 14,
    Accepted = 15,
    Rejected = 16,
    Heartbeat = 17,
    Fetch = 18,
    FetchReply = 19,
    /// <summary>Learner state transfer (a checkpoint) in answer to a fetch below the sender's log floor.</summary>
    Checkpoint = 20,

    // Client <-> member
    Publish = 30,
    PublishAck = 31,
    Subscribe = 32,
    Deliver = 33,

    // Client <-> member: status (a read-only client's first frame instead of Subscribe)
    StatusRequest = 34,
    StatusReply = 35,
}

/// <summary>What the peer on the other side of a connection is; named in its hello.</summary>
public enum PeerKind : byte
{
    Member = 1,
    Publisher = 2,
    Subscriber = 3,
    Observer = 4,
}

/// <summary>Codes carried by an error frame.</summary>
public enum ErrorCode : ushort
{
    None = 0,
    ProtocolViolation = 1,
    UnsupportedVersion = 2,
    WrongCluster = 3,
    Unauthorized = 4,
    BelowRetentionFloor = 5,
    NotLeader = 6,
    Overloaded = 7,
    ShuttingDown = 8,
    Internal = 9,
    /// <summary>The client's hello proves no token the member knows (or none was given where one is required).</summary>
    Unauthenticated = 10,
}

/// <summary>Outcome of a published run.</summary>
public enum PublishStatus : byte
{
    /// <summary>Committed; <c>Position</c> is the position of the run's first message.</summary>
    Committed = 1,
    /// <summary>Every message of the run was already delivered earlier (a retry); <c>Position</c> is unknown (-1).</summary>
    Duplicate = 2,
    /// <summary>The run skips ahead of the producer's next seq; resend from <c>ExpectedSeq</c>.</summary>
    OutOfSequence = 3,
    /// <summary>This member does not lead; <c>LeaderId</c> names the leader if known (0 otherwise).</summary>
    NotLeader = 4,
    /// <summary>The leader's intake is full; retry later.</summary>
    Overloaded = 5,
}
