namespace AtomicBcast.Wire;

// The protocol's messages as values. Wire/ encodes and decodes them (MessageWriter / MessageReader);
// Consensus/ consumes and produces them; Transport/ never looks inside.
// A field of type BatchBuffer is an owned reference (see BatchBuffer's rules); readers that parse in place
// hand the batch bytes out as a ReadOnlySequence slice of the frame instead, valid until the pipe advances.

/// <summary>First frame on every connection, both ways.</summary>
public readonly record struct HelloMessage(ushort ProtocolVersion, PeerKind Kind, ushort NodeId, string ClusterId)
{
    /// <summary>2: the hello carries a nonce and is followed by a HelloProof (cluster secret / client token).</summary>
    public const ushort CurrentVersion = 2;
}

/// <summary>A refusal or failure, sent before closing or in answer to a request that cannot be served.</summary>
public readonly record struct ErrorMessage(ErrorCode Code, string Text);

/// <summary>"Would you follow me at <paramref name="Ballot"/>?" <paramref name="LogEnd"/>: the first instance the
/// candidate does not hold (its log reaches up to LogEnd - 1); <paramref name="CommitUpTo"/>: highest instance it knows chosen.</summary>
public readonly record struct PreVoteMessage(Ballot Ballot, long LogEnd, long CommitUpTo);

/// <summary>Answer to a pre-vote. Granted only if the voter too lost its leader and the candidate's log is at least as far as its own.</summary>
public readonly record struct PreVoteReplyMessage(Ballot Ballot, bool Granted, long LogEnd);

/// <summary>Phase 1a, once for all instances from <paramref name="FromInstance"/> on.</summary>
public readonly record struct PrepareMessage(Ballot Ballot, long FromInstance);

/// <summary>One accepted value reported in a promise.</summary>
public readonly record struct PromiseRecord(long Instance, Ballot AcceptedBallot, BatchBuffer Batch);

/// <summary>Phase 1b, streamed in chunks of at most <see cref="Limits.PromiseChunkRecordsMax"/> records.
/// <paramref name="Last"/> marks the final chunk; a promise with no accepted records is one chunk with Last set.</summary>
public readonly record struct PromiseMessage(Ballot Ballot, long FromInstance, bool Last, PromiseRecord[] Records);

/// <summary>Phase 2a. <paramref name="CommitUpTo"/>: every instance &lt;= it is chosen (commit advertisement; -1 for none).</summary>
public readonly record struct AcceptMessage(Ballot Ballot, long Instance, long CommitUpTo, BatchBuffer Batch);

/// <summary>Phase 2b for a range: the sender has durably accepted every instance in [First, Last] at <paramref name="Ballot"/>.</summary>
public readonly record struct AcceptedMessage(Ballot Ballot, long FirstInstance, long LastInstance);

/// <summary>A prepare or accept at <paramref name="Ballot"/> refused because the sender promised <paramref name="Promised"/>.</summary>
public readonly record struct RejectedMessage(Ballot Ballot, long Instance, Ballot Promised);

/// <summary>The leader's liveness signal and commit advertisement: every instance &lt;= CommitUpTo is chosen, and for each
/// instance this leader proposed the chosen value is the one carrying <paramref name="Ballot"/>.</summary>
public readonly record struct HeartbeatMessage(Ballot Ballot, long CommitUpTo);

/// <summary>Catch-up request: chosen values from <paramref name="FromInstance"/>, at most CountMax instances / BytesMax bytes.</summary>
public readonly record struct FetchMessage(long FromInstance, int CountMax, int BytesMax);

/// <summary>Status of a fetch reply.</summary>
public enum FetchStatus : byte
{
    Chosen = 1,
    /// <summary>The instance is below the sender's retention floor; <c>Instance</c> carries that floor.</summary>
    Trimmed = 2,
    /// <summary>The sender does not know the instance chosen (yet).</summary>
    Unknown = 3,
}

/// <summary>One chosen value in answer to a fetch; Batch is null unless Status is Chosen.</summary>
public readonly record struct FetchReplyMessage(long Instance, Ballot Ballot, FetchStatus Status, BatchBuffer? Batch);

/// <summary>One producer's exactly-once state in a transferred checkpoint: its last delivered seq and the instance that delivered it.</summary>
public readonly record struct ProducerRecord(ulong ProducerId, ulong LastSeq, long LastInstance);

/// <summary>Learner state transfer: the sender's latest commit checkpoint, sent in answer to a fetch for an instance it no
/// longer holds (below its log's floor). Every instance through <paramref name="Instance"/> is delivered, the next message
/// takes <paramref name="NextPosition"/>, and <paramref name="Producers"/> (ascending ids) is the exactly-once table there.</summary>
public readonly record struct CheckpointMessage(long Instance, long NextPosition, ProducerRecord[] Producers);

/// <summary>A publisher run: messages FirstSeq .. FirstSeq + Count - 1 of producer ProducerId (0 = anonymous,
/// at-least-once; then FirstSeq is only a correlation token). The body is a run exactly as it sits in a batch.</summary>
public readonly record struct PublishMessage(ulong ProducerId, ulong FirstSeq, int Count, BatchBuffer Run);

/// <summary>Answer to one publish run, identified by (ProducerId, FirstSeq, Count).</summary>
public readonly record struct PublishAckMessage(
    ulong ProducerId, ulong FirstSeq, int Count, PublishStatus Status, long Position, ulong ExpectedSeq, ushort LeaderId);

/// <summary>Start (or resume) the ordered stream at <paramref name="FromPosition"/>.</summary>
public readonly record struct SubscribeMessage(long FromPosition);

/// <summary>One delivered batch: its messages take positions FirstPosition, FirstPosition + 1, ...; runs whose index is in
/// SkippedRuns were dropped by the exactly-once rule and take no position.</summary>
public readonly record struct DeliverMessage(long FirstPosition, long Instance, ushort[] SkippedRuns, BatchBuffer Batch);

/// <summary>"What is your state?" A subscriber-kind connection may send it instead of Subscribe, as often as it likes.</summary>
public readonly record struct StatusRequestMessage;

/// <summary>The role a member plays, as its status reports it.</summary>
public enum MemberRole : byte
{
    Follower = 0,
    PreCandidate = 1,
    Candidate = 2,
    Leader = 3,
}

/// <summary>A member's state, from its latest snapshot (refreshed every loop tick).</summary>
/// <param name="NodeId">The member.</param>
/// <param name="Role">Its role.</param>
/// <param name="Halted">It halted (log failure, corrupt log, broken invariant) and stops serving.</param>
/// <param name="LeaderId">The member it believes leads (0: none known).</param>
/// <param name="Promised">Its highest promised ballot.</param>
/// <param name="NextInstance">The next instance its learner delivers.</param>
/// <param name="ChosenUpTo">Highest instance it knows chosen (-1: none).</param>
/// <param name="NextPosition">The position its next delivered message takes (every position below is delivered).</param>
/// <param name="LogBytes">Bytes its log has written.</param>
/// <param name="AcceptedFloor">Its acceptor holds every accept from this instance up.</param>
/// <param name="EarliestPosition">The earliest position a subscriber can start from on it.</param>
/// <param name="Process">Its process's counters (<see cref="ProcessFigures.Unknown"/> from a member that predates them).</param>
/// <param name="LogSync">How long its log's syncs took (<see cref="SyncLatencyFigures.Unknown"/> from a member that predates them).</param>
public readonly record struct StatusReplyMessage(ushort NodeId, MemberRole Role, bool Halted, ushort LeaderId, Ballot Promised,
    long NextInstance, long ChosenUpTo, long NextPosition, long LogBytes, long AcceptedFloor, long EarliestPosition,
    ProcessFigures Process = default, SyncLatencyFigures LogSync = default);

/// <summary>
/// A member process's running totals, so that a benchmark or an operator can tell CPU, garbage collections and
/// allocation per message from two replies (nothing else sees inside another process). -1: unknown.
/// </summary>
/// <param name="CpuMs">User + system CPU time since the process started.</param>
/// <param name="Gen0Collections">Garbage collections of generation 0 (each gen1 and gen2 collection counts here too).</param>
/// <param name="Gen1Collections">Of generation 1 (gen2 collections count here too).</param>
/// <param name="Gen2Collections">Of generation 2 (full collections).</param>
/// <param name="AllocatedBytes">Bytes allocated on the managed heap since the process started.</param>
/// <param name="WorkingSetBytes">Physical memory the process uses now.</param>
public readonly record struct ProcessFigures(long CpuMs, long Gen0Collections, long Gen1Collections, long Gen2Collections,
    long AllocatedBytes, long WorkingSetBytes)
{
    public static readonly ProcessFigures Unknown = new(-1, -1, -1, -1, -1, -1);

    public bool IsKnown => CpuMs >= 0;

    /// <summary>This process, now.</summary>
    public static ProcessFigures OfThisProcess() => new((long)Environment.CpuUsage.TotalTime.TotalMilliseconds,
        GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalAllocatedBytes(precise: false), Environment.WorkingSet);
}
