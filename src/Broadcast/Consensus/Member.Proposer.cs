using System.Numerics;
using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

// The leader: intake of publisher runs, batching, pipelined phase 2, commit advancement, heartbeats.
public sealed partial class Member
{
    private readonly ProposalSlot[] _slots;
    private readonly int _windowMask;
    private long _nextInstance;
    /// <summary>The leader's commit: every instance up to it is chosen (phase 1 base, then majorities of Accepted).</summary>
    private long _commitUpTo = -1;
    private long _inFlightBytes;
    private long _reproposeNext;
    private long _reproposeEnd = -1;
    private long _lastHeartbeatMs;
    private long _stuckNext = -1;
    private long _stuckSinceMs;
    private readonly Queue<IntakeRun> _intake = new();
    private long _intakeBytes;

    /// <summary>Phase 1 succeeded: re-propose every instance from the phase 1 base to the highest reported (the value
    /// with the highest accepted ballot, or a no-op), then take new runs.</summary>
    private void BecomeLeader()
    {
        long now = NowMs;
        _role = Role.Leader;
        _leaderId = _self;
        _commitUpTo = _p1From - 1;
        _nextInstance = _p1From;
        _reproposeNext = _p1From;
        _reproposeEnd = _p1Max;
        _inFlightBytes = 0;
        _stuckNext = -1;
        NoteCommit(_ballot, _commitUpTo);
        BroadcastHeartbeat(now);
        Pump();
    }

    private void ReleaseLeadership()
    {
        foreach (var slot in _slots) slot.Release();
        while (_intake.TryDequeue(out var run))
        {
            var header = RunHeader.Read(run.Run.Span);
            _output.Ack(run.Client, new PublishAckMessage(header.ProducerId, header.FirstSeq, header.Count, PublishStatus.NotLeader, -1, 0, 0));
            run.Run.Release();
        }
        _intakeBytes = 0;
        _inFlightBytes = 0;
        _reproposeEnd = -1;
    }

    private void OnPublish(long client, in PublishMessage m)
    {
        RunValidator.Validate(m);
        PublishStatus refusal = _role != Role.Leader ? PublishStatus.NotLeader
            : _intakeBytes + m.Run.Length > _options.IntakeBytesMax ? PublishStatus.Overloaded : 0;
        if (refusal != 0)
        {
            _output.Ack(client, new PublishAckMessage(m.ProducerId, m.FirstSeq, m.Count, refusal, -1, 0, LeaderId));
            return;
        }
        _intake.Enqueue(new IntakeRun(client, m.Run.Retain(), m.Count));
        _intakeBytes += m.Run.Length;
        Pump();
    }

    /// <summary>Fills the pipeline: re-proposals first, then batches of queued runs. A batch closes when full or when the
    /// pipeline has room and nothing else waits, so there is no artificial delay.</summary>
    private void Pump()
    {
        while (_role == Role.Leader && HasRoom())
        {
            var slot = _slots[_nextInstance & _windowMask];
            Invariant.Require(slot.Batch is null, "proposal slot reused before its instance was delivered");
            BatchBuffer batch;
            if (_reproposeNext <= _reproposeEnd)
            {
                batch = _p1Records.Remove(_reproposeNext, out var record) ? record.Batch : BatchCodec.CreateNoOp();
                _reproposeNext++;
            }
            else if (_intake.Count > 0)
            {
                batch = IntakePacker.Build(_intake, _options.BatchBytesMax, slot.Clients, out long bytes);
                _intakeBytes -= bytes;
            }
            else break;
            Propose(slot, batch);
        }
    }

    private bool HasRoom() =>
        _nextInstance < Math.Min(_commitUpTo + 1, _next) + _options.Window && _inFlightBytes < _options.WindowBytes;

    /// <summary>Sends Accept for the next instance to every acceptor, ourselves last (our own acceptor may step us down).</summary>
    private void Propose(ProposalSlot slot, BatchBuffer batch)
    {
        long instance = _nextInstance++;
        slot.Instance = instance;
        slot.Batch = batch;
        slot.AcceptedBy = 0;
        slot.Chosen = false;
        slot.SentMs = NowMs;
        _inFlightBytes += batch.Length;
        var message = new AcceptMessage(_ballot, instance, _commitUpTo, batch);
        foreach (var member in _members)
            if (member != _self) _output.Send(member, message);
        _lastHeartbeatMs = slot.SentMs; // the Accept carried the commit advertisement
        OnAccept(_self, message);
    }

    private void OnAccepted(ushort from, in AcceptedMessage m)
    {
        if (_role != Role.Leader || m.Ballot != _ballot) return;
        ulong bit = Bit(from);
        long first = Math.Max(m.FirstInstance, _commitUpTo + 1), last = Math.Min(m.LastInstance, _nextInstance - 1);
        for (long i = first; i <= last; i++)
        {
            var slot = _slots[i & _windowMask];
            if (slot.Instance != i || slot.Chosen || slot.Batch is null) continue;
            slot.AcceptedBy |= bit;
            if (BitOperations.PopCount(slot.AcceptedBy) < _quorum) continue;
            slot.Chosen = true;
            _inFlightBytes -= slot.Batch.Length;
        }
        if (!AdvanceCommit()) return;
        TryDeliver();
        long proposed = _nextInstance;
        Pump();
        // Nothing new went out to carry the commit: advertise it now rather than at the next heartbeat.
        if (_role == Role.Leader && _nextInstance == proposed) BroadcastHeartbeat(NowMs);
    }

    /// <summary>Moves the leader's commit over every instance now known chosen; true if it moved.</summary>
    private bool AdvanceCommit()
    {
        long before = _commitUpTo;
        while (_commitUpTo + 1 < _nextInstance && IsChosen(_commitUpTo + 1))
        {
            _commitUpTo++;
            // A re-proposal our learner had already delivered (fetched during phase 1): no delivery will free its slot.
            if (_commitUpTo < _next) FinishSlot(_commitUpTo);
        }
        if (_commitUpTo == before) return false;
        NoteCommit(_ballot, _commitUpTo);
        return true;
    }

    /// <summary>Chosen by a majority of Accepted, or already delivered (so known chosen some other way). A delivered value
    /// counts only if its ballot is not above ours: our commit says "our accept there is chosen", and a value a higher
    /// ballot chose may differ from ours. TryDeliver steps us down before such a delivery, so this is belt and braces; a
    /// delivered value no longer retained counts (re-proposals fetched during phase 1 may be far behind, and acceptors that
    /// trimmed them answer their Accepts with Trimmed, so waiting for a majority of Accepted could stall the commit).</summary>
    private bool IsChosen(long instance)
    {
        if (instance < _next) return !(_chosen.TryGetValue(instance, out var delivered) && delivered.Ballot > _ballot);
        var slot = _slots[instance & _windowMask];
        return slot.Instance == instance && slot.Chosen;
    }

    private void LeaderTick(long now)
    {
        // Re-proposals our learner delivered by fetch (during or after phase 1) are chosen without our Accepted
        // majority, and their slots no longer retransmit: the commit must move over them here.
        bool advanced = AdvanceCommit();
        if (advanced) TryDeliver();
        if (_role != Role.Leader || StuckLearner(now)) return;
        if (advanced || now - _lastHeartbeatMs >= _options.HeartbeatMs) BroadcastHeartbeat(now);
        for (long i = _commitUpTo + 1; i < _nextInstance && _role == Role.Leader; i++)
        {
            var slot = _slots[i & _windowMask];
            if (slot.Instance != i || slot.Chosen || slot.Batch is null || now - slot.SentMs < _options.RetransmitMs || Switches.NoRetransmit) continue;
            slot.SentMs = now;
            var message = new AcceptMessage(_ballot, i, _commitUpTo, slot.Batch);
            for (int k = 0; k < _members.Length; k++)
                if (_members[k] != _self && (slot.AcceptedBy & (1UL << k)) == 0) _output.Send(_members[k], message);
        }
        Pump();
    }

    /// <summary>
    /// A leader whose learner waits for a chosen value it cannot get (every peer that had it trimmed it) would block
    /// the pipeline forever while its heartbeats keep others from taking over: after an election timeout without
    /// progress it steps down, so that a member holding the log can lead (pre-vote favours the longest log).
    /// </summary>
    private bool StuckLearner(long now)
    {
        if (_next > _chosenUpTo || _chosen.ContainsKey(_next))
        {
            _stuckNext = -1;
            return false;
        }
        if (_stuckNext != _next)
        {
            _stuckNext = _next;
            _stuckSinceMs = now;
            return false;
        }
        if (now - _stuckSinceMs < _options.ElectionTimeoutMaxMs) return false;
        StepDown();
        return true;
    }

    private void BroadcastHeartbeat(long now)
    {
        _lastHeartbeatMs = now;
        var message = new HeartbeatMessage(_ballot, _commitUpTo);
        foreach (var member in _members)
            if (member != _self) _output.Send(member, message);
    }

    /// <summary>The learner delivered one run of <paramref name="instance"/>: answer the publisher if we took it.</summary>
    private void AckRun(long instance, int runIndex, in RunHeader run, RunOutcome outcome, long position, ulong expectedSeq)
    {
        if (_role != Role.Leader) return;
        var slot = _slots[instance & _windowMask];
        if (slot.Instance != instance || slot.Batch is null || runIndex >= slot.Clients.Count) return;
        var status = outcome switch
        {
            RunOutcome.Delivered => PublishStatus.Committed,
            RunOutcome.Duplicate => PublishStatus.Duplicate,
            _ => PublishStatus.OutOfSequence,
        };
        _output.Ack(slot.Clients[runIndex], new PublishAckMessage(run.ProducerId, run.FirstSeq, run.Count, status,
            outcome == RunOutcome.Delivered ? position : -1, expectedSeq, _self));
    }

    /// <summary>The learner delivered <paramref name="instance"/>: its slot is free for instance + window.</summary>
    private void FinishSlot(long instance)
    {
        if (_role != Role.Leader) return;
        var slot = _slots[instance & _windowMask];
        if (slot.Instance != instance || slot.Batch is null) return;
        if (!slot.Chosen) _inFlightBytes -= slot.Batch.Length;
        slot.Release();
    }
}
