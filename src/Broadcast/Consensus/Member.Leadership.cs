using System.Numerics;
using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

// Leadership: heartbeats seen, election timer, pre-vote, candidacy and phase 1.
public sealed partial class Member
{
    private ushort _leaderId;
    private long _leaderHeardMs;
    private long _electionDeadlineMs;
    private ulong _highestRoundSeen;
    private bool _reusedBallot;

    /// <summary>Our ballot while a candidate or the leader.</summary>
    private Ballot _ballot;
    private Ballot _preVoteBallot;
    private ulong _preVoteGrants;

    // Phase 1 state of a candidacy.
    private long _p1From;
    private long _p1Max;
    private HashSet<long>[] _p1Chunks = [];   // per member: the FromInstance of every chunk of its promise taken
    private long[] _p1LastChunk = [];         // per member: the FromInstance of its last chunk, or -1 until one arrives
    private ulong _p1Done;
    private long _p1SentMs;
    private bool _prepareSent;
    private readonly Dictionary<long, (Ballot Ballot, BatchBuffer Batch)> _p1Records = new();

    /// <summary>A leader at <paramref name="ballot"/> (not below our promise) is alive.</summary>
    private void NoteLeader(Ballot ballot)
    {
        if (ballot.NodeId == _self) return;
        if (_role is Role.Leader or Role.Candidate)
        {
            if (ballot <= _ballot) return;
            StepDown();
        }
        _role = Role.Follower;
        _leaderId = ballot.NodeId;
        long now = NowMs;
        _leaderHeardMs = now;
        ResetElectionTimer(now);
    }

    private void OnHeartbeat(ushort from, in HeartbeatMessage m)
    {
        NoteRound(m.Ballot);
        NoteCommit(m.Ballot, m.CommitUpTo);
        if (m.Ballot >= _promised) NoteLeader(m.Ballot);
        TryDeliver();
    }

    private bool HearsLiveLeader(long now) =>
        _role == Role.Leader || (_leaderId != 0 && now - _leaderHeardMs < _options.ElectionTimeoutMinMs);

    private ulong NextRound() => Math.Max(_promised.Round, _highestRoundSeen) + 1;

    private void StartPreVote(long now)
    {
        _role = Role.PreCandidate;
        _leaderId = 0;
        _preVoteBallot = Ballot.Create(NextRound(), _self);
        _preVoteGrants = Bit(_self);
        ResetElectionTimer(now);
        if (BitOperations.PopCount(_preVoteGrants) >= _quorum)
        {
            StartCandidacy(now);
            return;
        }
        var message = new PreVoteMessage(_preVoteBallot, _next, _chosenUpTo);
        foreach (var member in _members)
            if (member != _self) _output.Send(member, message);
    }

    /// <summary>Yes only if we too lost the leader and the candidate's log reaches at least as far as ours.</summary>
    private void OnPreVote(ushort from, in PreVoteMessage m)
    {
        bool granted = !HearsLiveLeader(NowMs) && m.LogEnd >= _next;
        _output.Send(from, new PreVoteReplyMessage(m.Ballot, granted, _next));
    }

    private void OnPreVoteReply(ushort from, in PreVoteReplyMessage m)
    {
        if (_role != Role.PreCandidate || m.Ballot != _preVoteBallot || !m.Granted) return;
        _preVoteGrants |= Bit(from);
        if (BitOperations.PopCount(_preVoteGrants) >= _quorum) StartCandidacy(NowMs);
    }

    /// <summary>Phase 1 for every instance from the first we have not delivered. The self-promise is the durable
    /// record of the round: Prepare goes to the others only once it is synced (see <see cref="PromiseDurable"/>).</summary>
    private void StartCandidacy(long now)
    {
        ulong round = NextRound();
        if (Switches.ReuseBallotAfterRestart && !_reusedBallot && _recoveredPromise.NodeId == _self && !_recoveredPromise.IsZero)
        {
            round = _recoveredPromise.Round;
        }
        _reusedBallot = true;
        _ballot = Ballot.Create(round, _self);
        _role = Role.Candidate;
        ResetElectionTimer(now);
        ReleasePhase1();
        _p1From = _next;
        _p1Max = _next - 1;
        _p1Chunks = new HashSet<long>[_members.Length];
        for (int i = 0; i < _p1Chunks.Length; i++) _p1Chunks[i] = new HashSet<long>();
        _p1LastChunk = new long[_members.Length];
        Array.Fill(_p1LastChunk, -1L);
        _p1Done = 0;
        _prepareSent = false;
        OnPrepare(_self, new PrepareMessage(_ballot, _p1From));
    }

    private void BroadcastPrepare(long now)
    {
        _prepareSent = true;
        _p1SentMs = now;
        var message = new PrepareMessage(_ballot, _p1From);
        for (int i = 0; i < _members.Length; i++)
            if (_members[i] != _self && (_p1Done & (1UL << i)) == 0) _output.Send(_members[i], message);
    }

    private void CandidateTick(long now)
    {
        if (now >= _electionDeadlineMs)
        {
            StepDown(); // bounded randomised backoff: the next attempt waits a fresh random election timeout
            return;
        }
        if (_prepareSent && now - _p1SentMs >= _options.RetransmitMs) BroadcastPrepare(now);
    }

    /// <summary>
    /// Takes one chunk of a member's promise, in any order: the network may reorder them, and waiting for them in order
    /// kept candidacies from completing for seconds under reordering (simulation, trimmed5 seed 5992). Chunks may even
    /// come from two answers to the same Prepare (a retransmit): each reports the member's votes below our ballot in its
    /// span, which cannot change once it promised our ballot (it refuses Accepts below it, and an answer that could no
    /// longer list every vote is never sent). The promise is complete when every chunk from our from up to a last
    /// chunk has been taken.
    /// </summary>
    private void OnPromise(ushort from, in PromiseMessage m)
    {
        if (_role != Role.Candidate || m.Ballot != _ballot) return;
        int index = MemberIndex(from);
        long offset = m.FromInstance - _p1From;
        if ((_p1Done & (1UL << index)) != 0 || offset < 0 || offset % _options.PromiseChunkInstances != 0) return;
        if (!_p1Chunks[index].Add(m.FromInstance)) return;
        foreach (var record in m.Records) MergePromised(m, record);
        if (m.Last && (_p1LastChunk[index] < 0 || m.FromInstance < _p1LastChunk[index])) _p1LastChunk[index] = m.FromInstance;
        if (!HasWholePromise(index)) return;
        _p1Done |= 1UL << index;
        if (BitOperations.PopCount(_p1Done) >= _quorum) BecomeLeader();
    }

    private bool HasWholePromise(int index)
    {
        long last = _p1LastChunk[index];
        if (last < 0) return false;
        long needed = (last - _p1From) / _options.PromiseChunkInstances + 1;
        long taken = 0;
        foreach (long chunk in _p1Chunks[index])
            if (chunk <= last) taken++;
        return taken == needed;
    }

    /// <summary>Keeps, per instance, the value with the highest accepted ballot.</summary>
    private void MergePromised(in PromiseMessage m, in PromiseRecord record)
    {
        Invariant.Require(record.Instance >= m.FromInstance && (m.Last || record.Instance < m.FromInstance + _options.PromiseChunkInstances),
            "promise record outside its chunk");
        Invariant.Require(record.AcceptedBallot < _ballot, "promise reports an accept at or above the candidate's ballot");
        if (_p1Records.TryGetValue(record.Instance, out var held))
        {
            if (held.Ballot == record.AcceptedBallot)
            {
                Invariant.Require(held.Batch.Span.SequenceEqual(record.Batch.Span), "two values accepted at one ballot for one instance");
                return;
            }
            if (held.Ballot > record.AcceptedBallot) return;
            held.Batch.Release();
        }
        _p1Records[record.Instance] = (record.AcceptedBallot, record.Batch.Retain());
        if (record.Instance > _p1Max) _p1Max = record.Instance;
    }

    private void ReleasePhase1()
    {
        foreach (var (_, record) in _p1Records) record.Batch.Release();
        _p1Records.Clear();
    }

    /// <summary>Leaves candidacy or leadership; waits a fresh random election timeout before trying again.</summary>
    private void StepDown()
    {
        bool wasLeader = _role == Role.Leader;
        _role = Role.Follower;
        _leaderId = 0;
        ResetElectionTimer(NowMs);
        ReleasePhase1();
        if (wasLeader) ReleaseLeadership();
    }

    private ulong Bit(ushort member) => 1UL << MemberIndex(member);
}
