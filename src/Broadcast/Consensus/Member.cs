using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>The role a member plays right now. Every member is always an acceptor and a learner too.</summary>
public enum Role : byte
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// <summary>
/// One cluster member's Multi-Paxos core: acceptor, learner, and (when elected) proposer, as a deterministic
/// state machine. Events come in through the public methods (peer messages, publisher runs, ticks, durability
/// notices); effects go out through <see cref="IConsensusOutput"/> and <see cref="IConsensusLog"/>.
///
/// Requirements:
/// - Single-threaded: the host calls one method at a time. No sockets, files, threads, wall clock or
///   unseeded randomness: time is the injected <see cref="TimeProvider"/>, randomness the injected <see cref="Random"/>.
/// - Batches handed in are borrowed for the call; the core retains what it keeps.
/// - Messages to this member itself are handled inline (never through <see cref="IConsensusOutput"/>), and every
///   handler finishes its own state changes before it calls another handler.
/// - Consensus invariants are checked always (<see cref="Invariant"/>); a violation throws and the member must stop.
/// </summary>
public sealed partial class Member
{
    private readonly ConsensusOptions _options;
    private readonly IConsensusLog _log;
    private readonly IConsensusOutput _output;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ushort _self;
    private readonly ushort[] _members;
    private readonly int _quorum;

    private Role _role;
    private bool _halted;

    internal FaultSwitches Switches { get; } = new();
    internal FloorCounters Floor { get; } = new();
    internal CatchupCounters Catchup { get; } = new();
    internal SelfObserver Observer { get; } = new();

    public Member(ConsensusOptions options, IConsensusLog log, IConsensusOutput output, TimeProvider time, Random random,
        RecoveredState? recovered = null)
    {
        options.Validate();
        _options = options;
        _log = log;
        _output = output;
        _time = time;
        _random = random;
        _self = options.NodeId;
        _members = options.Members;
        _quorum = options.Quorum;
        _windowMask = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)options.Window) - 1;
        _slots = new ProposalSlot[_windowMask + 1];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = new ProposalSlot();
        if (recovered is not null) Recover(recovered);
        ResetElectionTimer(NowMs);
    }

    public ushort NodeId => _self;
    public Role Role => _role;
    public bool IsLeader => _role == Role.Leader;
    /// <summary>The member this one believes leads (0 if none known).</summary>
    public ushort LeaderId => _role == Role.Leader ? _self : _leaderId;
    public Ballot Promised => _promised;
    /// <summary>The next instance this member's learner will deliver.</summary>
    public long NextInstance => _next;
    /// <summary>The position the next delivered message will take: every position below it is delivered.</summary>
    public long NextPosition => _nextPosition;
    public long ChosenUpTo => _chosenUpTo;
    /// <summary>The acceptor holds every accept from this instance up; the storage log may drop accept records below it
    /// (and must keep those at or above it: a promise may still have to report them).</summary>
    public long AcceptedFloor => _acceptedFloor;
    /// <summary>Runs the leader has taken from publishers and not yet put into a batch (0 on followers).</summary>
    public int QueuedRuns => _intake.Count;

    private long NowMs => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;

    /// <summary>The log reports every record up to <paramref name="lsn"/> synced. Answers what waited for it.</summary>
    public void Durable(long lsn)
    {
        Enter();
        OnDurable(lsn);
    }

    /// <summary>Timers: heartbeats, elections, retransmissions, fetch retries. Call every few milliseconds.</summary>
    public void Tick()
    {
        Enter();
        long now = NowMs;
        switch (_role)
        {
            case Role.Leader: LeaderTick(now); break;
            case Role.Candidate: CandidateTick(now); break;
            case Role.PreCandidate or Role.Follower:
                if (now >= _electionDeadlineMs) StartPreVote(now);
                break;
        }
        TryDeliver();
    }

    public void Receive(ushort from, in PreVoteMessage m) { Enter(); OnPreVote(from, m); }
    public void Receive(ushort from, in PreVoteReplyMessage m) { Enter(); OnPreVoteReply(from, m); }
    public void Receive(ushort from, in PrepareMessage m) { Enter(); OnPrepare(from, m); }
    public void Receive(ushort from, in PromiseMessage m) { Enter(); OnPromise(from, m); }
    public void Receive(ushort from, in AcceptMessage m) { Enter(); OnAccept(from, m); }
    public void Receive(ushort from, in AcceptedMessage m) { Enter(); OnAccepted(from, m); }
    public void Receive(ushort from, in RejectedMessage m) { Enter(); OnRejected(from, m); }
    public void Receive(ushort from, in HeartbeatMessage m) { Enter(); OnHeartbeat(from, m); }
    public void Receive(ushort from, in FetchMessage m) { Enter(); OnFetch(from, m); }
    public void Receive(ushort from, in FetchReplyMessage m) { Enter(); OnFetchReply(from, m); }
    public void Receive(ushort from, in CheckpointMessage m) { Enter(); OnCheckpoint(from, m); }

    /// <summary>A publisher run for the leader's intake; the answer goes to <paramref name="client"/> via <see cref="IConsensusOutput.Ack"/>.</summary>
    public void Publish(long client, in PublishMessage m) { Enter(); OnPublish(client, m); }

    private void Enter()
    {
        Invariant.Require(!_halted, "member halted after an invariant violation");
    }

    /// <summary>Stops the member for good (the host calls this when the log fails a sync).</summary>
    public void Halt() => _halted = true;

    private int MemberIndex(ushort id)
    {
        int index = Array.IndexOf(_members, id);
        Invariant.Require(index >= 0, "message from a member not in the configuration");
        return index;
    }

    private void ResetElectionTimer(long now) =>
        _electionDeadlineMs = now + _random.Next(_options.ElectionTimeoutMinMs, _options.ElectionTimeoutMaxMs + 1);

    private void Recover(RecoveredState state)
    {
        _promised = state.Promised;
        _recoveredPromise = state.Promised;
        Invariant.Require(state.AcceptedFloor >= 0, "negative recovered accepted floor");
        // Above the checkpoint's next instance, the accepts between the two would be neither held (below the floor) nor
        // answered (not delivered, so not chosen as far as we know). The node never trims its log above the last
        // checkpoint's next instance, and keepFrom is below it.
        Invariant.Require(state.AcceptedFloor <= (state.Checkpoint is { } recoveredCp ? recoveredCp.Instance + 1 : 0),
            "recovered accepted floor above the checkpoint's next instance");
        _acceptedFloor = state.AcceptedFloor;
        foreach (var a in state.Accepts)
        {
            Invariant.Require(a.Ballot <= _promised, "recovered accept above the recovered promise");
            if (a.Instance < _acceptedFloor)
            {
                a.Batch.Release(); // below the floor the log no longer holds every vote: keep none (prepares there are refused)
                continue;
            }
            _accepted[a.Instance] = new AcceptSlot(a.Ballot, a.Batch, Lsn: 0);
            if (a.Instance > _maxAccepted) _maxAccepted = a.Instance;
        }
        if (state.Checkpoint is { } cp)
        {
            _next = cp.Instance + 1;
            _nextPosition = cp.NextPosition;
            _producers.Restore(cp.Producers);
            _chosenUpTo = cp.Instance;
            _lastCheckpoint = cp;
            Invariant.Require(cp.LogValuesFrom >= 0 && cp.LogValuesFrom <= _next, "recovered checkpoint's LogValuesFrom outside [0, next]");
            _logValuesFrom = cp.LogValuesFrom;
        }
        foreach (var c in state.Chosen)
        {
            // Kept also below the checkpoint (within the retention): they serve peers' fetches.
            if (c.Instance < _next - _options.RetainedInstances || !_chosen.TryAdd(c.Instance, new ChosenValue(c.Ballot, c.Batch, Logged: true)))
            {
                c.Batch.Release();
                continue;
            }
            if (c.Instance > _chosenUpTo) _chosenUpTo = c.Instance;
        }
        _highestRoundSeen = _promised.Round;
    }
}
