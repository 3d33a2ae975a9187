using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

// The learner: commit advertisements, in-order delivery with positions, exactly-once, catch-up fetches, checkpoints.
public sealed partial class Member
{
    /// <summary>A value known chosen; <c>Logged</c> once a Chosen record for it was appended (or it was read back from one).</summary>
    private readonly record struct ChosenValue(Ballot Ballot, BatchBuffer Batch, bool Logged);

    private long _next;
    private long _nextPosition;
    /// <summary>Every instance up to here is chosen (highest advertisement of any ballot, or learned by fetch).</summary>
    private long _chosenUpTo = -1;
    /// <summary>The highest advertising ballot and its upTo: an accept we hold at exactly this ballot, at or below it, is chosen.</summary>
    private Ballot _commitBallot;
    private long _commitBallotUpTo = -1;
    /// <summary>Values known chosen: delivered ones (kept to serve fetches, up to the retention) and fetched ones ahead of delivery.</summary>
    private readonly Dictionary<long, ChosenValue> _chosen = new();
    private readonly ProducerTable _producers = new();
    private readonly List<ushort> _skippedRuns = new();
    private readonly List<long> _trimScratch = new();
    private long _fetchRequestedUpTo = -1;
    private long _fetchDeadlineMs;
    private int _fetchPeer;
    /// <summary>The latest checkpoint written (or recovered, or installed by a jump): what a peer behind our log's floor gets.</summary>
    private Checkpoint? _lastCheckpoint;
    /// <summary>The first instance whose chosen value our log holds for sure (see <see cref="TryReadDelivered"/>): 0, or the
    /// instance after the last jump.</summary>
    private long _logValuesFrom;

    private void NoteCommit(Ballot ballot, long upTo)
    {
        ReleasePin(ballot, upTo);
        if (upTo > _chosenUpTo) _chosenUpTo = upTo;
        if (ballot > _commitBallot)
        {
            _commitBallot = ballot;
            _commitBallotUpTo = upTo;
        }
        else if (ballot == _commitBallot && upTo > _commitBallotUpTo) _commitBallotUpTo = upTo;
    }

    /// <summary>Delivers in instance order everything known chosen whose value we have; asks a peer for the first one we lack.</summary>
    private void TryDeliver()
    {
        while (_next <= _chosenUpTo)
        {
            if (!_chosen.TryGetValue(_next, out var value))
            {
                if (!TryOwnChosen(_next, out var ballot, out var batch) && !(Switches.DeliverUnchosen && TryAnyAccept(_next, out ballot, out batch)))
                {
                    RequestFetch();
                    return;
                }
                value = new ChosenValue(ballot, batch.Retain(), Logged: false);
                _chosen[_next] = value;
            }
            // A higher ballot chose this value, so ours is stale: our commit advertisement at our ballot must never move
            // over it (a follower holding our own accept there would take that accept as chosen: second review, F1).
            if (_role is Role.Leader or Role.Candidate && value.Ballot > _ballot)
            {
                Catchup.StaleLeaderStepDowns++;
                NoteRound(value.Ballot);
                StepDown();
            }
            DeliverInstance(_next, value);
        }
    }

    /// <summary>Our own accept is the chosen value when it carries the advertising ballot at or below its upTo.</summary>
    private bool TryOwnChosen(long instance, out Ballot ballot, out BatchBuffer batch)
    {
        if (instance <= _commitBallotUpTo && _accepted.TryGetValue(instance, out var a) && a.Ballot == _commitBallot)
        {
            ballot = a.Ballot;
            batch = a.Batch;
            return true;
        }
        ballot = default;
        batch = null!;
        return false;
    }

    private bool TryAnyAccept(long instance, out Ballot ballot, out BatchBuffer batch)
    {
        bool found = _accepted.TryGetValue(instance, out var a);
        ballot = a.Ballot;
        batch = a.Batch;
        return found;
    }

    private void DeliverInstance(long instance, ChosenValue value)
    {
        long firstPosition = _nextPosition;
        // Only a value carrying our ballot is our proposal (one ballot, one value per instance): a value a newer
        // leader chose for this instance, learned by fetch, must not answer the publishers of ours.
        bool ours = _role == Role.Leader && value.Ballot == _ballot;
        var acks = new RunAcks(this, instance, ours);
        _nextPosition = DeliveryFilter.Apply(_producers, instance, value.Batch.Span, firstPosition, _skippedRuns, ref acks);
        _next = instance + 1;
        _output.Deliver(new DeliverMessage(firstPosition, instance, _skippedRuns.Count == 0 ? [] : _skippedRuns.ToArray(), value.Batch));
        if (!value.Logged)
        {
            _log.AppendChosen(instance, value.Ballot, value.Batch);
            _chosen[instance] = value with { Logged = true };
        }
        FinishSlot(instance);
        if ((instance + 1) % _options.CheckpointEveryInstances == 0) WriteCheckpoint(instance);
        Trim(instance - _options.RetainedInstances);
        TrimAccepted(instance - _options.RetainedInstances + 1);
    }

    /// <summary>Acks our own proposal's runs as <see cref="DeliveryFilter"/> decides them.</summary>
    private readonly struct RunAcks(Member member, long instance, bool ours) : DeliveryFilter.IRunObserver
    {
        public void Run(int runIndex, in RunHeader run, RunOutcome outcome, long position, ulong expectedSeq)
        {
            if (ours) member.AckRun(instance, runIndex, run, outcome, position, expectedSeq);
        }
    }

    /// <summary>Checkpoint and producer expiry happen at fixed instance numbers, so every learner expires the same producers.</summary>
    private void WriteCheckpoint(long instance)
    {
        _producers.Expire(instance, _options.ProducerIdleInstancesMax);
        _lastCheckpoint = new Checkpoint(instance, _nextPosition, _producers.Snapshot()) { LogValuesFrom = _logValuesFrom };
        _log.AppendCheckpoint(_lastCheckpoint);
    }

    private void Trim(long instance)
    {
        if (instance < 0) return;
        if (_chosen.Remove(instance, out var value)) value.Batch.Release();
    }

    /// <summary>Drops the accepts below <paramref name="below"/> and raises the floor to it, but never into the pin.</summary>
    private void TrimAccepted(long below)
    {
        long limit = Math.Min(below, PinnedFrom);
        if (limit < below) Floor.PinnedTrims++;
        if (limit <= _acceptedFloor) return;
        if (limit - _acceptedFloor <= _accepted.Count)
        {
            for (long i = _acceptedFloor; i < limit; i++)
                if (_accepted.Remove(i, out var accept)) accept.Batch.Release();
        }
        else
        {
            // A long jump (after a restart or a pin's release): walk what we hold rather than the instance range.
            _trimScratch.Clear();
            foreach (var (i, _) in _accepted) if (i < limit) _trimScratch.Add(i);
            foreach (long i in _trimScratch)
                if (_accepted.Remove(i, out var accept)) accept.Batch.Release();
        }
        _acceptedFloor = limit;
    }

    /// <summary>Paced: one request in flight, retried at the next member after a timeout.</summary>
    private void RequestFetch()
    {
        if (_members.Length == 1) return;
        long now = NowMs;
        if (_next <= _fetchRequestedUpTo && now < _fetchDeadlineMs) return;
        do _fetchPeer = (_fetchPeer + 1) % _members.Length;
        while (_members[_fetchPeer] == _self);
        _fetchRequestedUpTo = _next + _options.FetchCountMax - 1;
        _fetchDeadlineMs = now + _options.FetchTimeoutMs;
        _output.Send(_members[_fetchPeer], new FetchMessage(_next, _options.FetchCountMax, _options.FetchBytesMax));
    }

    /// <summary>
    /// Serves values we know chosen, in order from the requested instance, until a gap or the byte budget: from memory, else
    /// (for instances we delivered) from the log. Asked for an instance we delivered but can no longer give (below our
    /// log's floor), we send our latest checkpoint instead, so that a member behind every peer's log can jump ahead.
    /// </summary>
    private void OnFetch(ushort from, in FetchMessage m)
    {
        int countMax = Math.Min(m.CountMax, _options.FetchCountMax);
        long bytes = 0;
        for (long i = m.FromInstance; i < m.FromInstance + countMax && bytes < m.BytesMax; i++)
        {
            if (_chosen.TryGetValue(i, out var value) || TryOwnChosen(i, out value))
            {
                bytes += value.Batch.Length;
                _output.Send(from, new FetchReplyMessage(i, value.Ballot, FetchStatus.Chosen, value.Batch));
                continue;
            }
            if (TryReadDelivered(i, out var logged))
            {
                bytes += logged.Batch.Length;
                Catchup.LogServed++;
                _output.Send(from, new FetchReplyMessage(i, logged.Ballot, FetchStatus.Chosen, logged.Batch));
                logged.Batch.Release();
                continue;
            }
            // Below our acceptor's floor (which bounds the log's trim floor from above) the value may be gone for good; above
            // it a failed read is a record not durable yet, so the peer should rather ask again or elsewhere than jump.
            if (i < _acceptedFloor && i < _next && i == m.FromInstance && SendCheckpoint(from, i)) return;
            bool trimmed = i < _next && i < _acceptedFloor;
            _output.Send(from, new FetchReplyMessage(trimmed ? DeliveredFloor : i, default, trimmed ? FetchStatus.Trimmed : FetchStatus.Unknown, null));
            return;
        }
    }

    /// <summary>
    /// The chosen value of an instance we delivered, read back from our log (the batch retained for the caller).
    ///
    /// Why the log's value for a delivered instance i at or above <see cref="_logValuesFrom"/> is the chosen one. Let b0 be
    /// the lowest ballot at which a value v was chosen for i. Paxos guarantees that every proposal at a ballot >= b0 carries v,
    /// so every accept at such a ballot does too. The log's value for i is its latest accept record, which is also its
    /// highest-ballot one (the core never accepts below a ballot it holds: <see cref="Accept"/> and the promise rule).
    /// - We delivered i with some (ballot b, v), where b >= b0: b is the advertised commit ballot our own accept carried
    ///   (that ballot's proposal was chosen), or the ballot a peer reported with v, which by induction is such a ballot.
    /// - At delivery <see cref="IConsensusLog.AppendChosen"/> runs: the node's log writes (i, b, v) as an accept record unless
    ///   it holds an accept at a ballot >= b, which then carries v by the rule above. Either way the latest record is >= b0.
    /// - After delivery nothing else is written for i: <see cref="OnAccept"/> never accepts an instance we delivered (a stale
    ///   leader at a ballot between ours and b could otherwise overwrite the chosen value with its own, unchosen one).
    /// - Durability is a prefix: the chosen record of i is appended before any checkpoint covering i, so after a restart from
    ///   that checkpoint (next = checkpoint + 1) every instance below next still has it. Instances above the checkpoint are
    ///   not delivered after the restart, and get their chosen record again when they are.
    /// - Trimming drops whole segments below a floor that is above every instance they hold, so an instance at or above the
    ///   floor keeps all its records (its latest one included); below the floor the read fails (LogTrimmedException: false).
    /// - A learner jump skips instances without delivering them: the log may hold unchosen accepts there, so nothing below
    ///   <see cref="_logValuesFrom"/> (the instance after the jump, carried by every later checkpoint) is ever served.
    /// </summary>
    private bool TryReadDelivered(long instance, out LogValue value)
    {
        value = default;
        if (instance < _logValuesFrom || instance >= _next || !_log.TryReadValue(instance, out value)) return false;
        Invariant.Require(value.Instance == instance, "the log answered another instance");
        return true;
    }

    /// <summary>Our latest checkpoint, to a peer asking for an instance we delivered but no longer hold; false when it does
    /// not reach that instance (the peer then gets Trimmed and asks elsewhere) or its table cannot fit a frame.</summary>
    private bool SendCheckpoint(ushort to, long instance)
    {
        if (_lastCheckpoint is not { } cp || cp.Instance < instance || cp.Producers.Length > MessageLayout.CheckpointProducersMax) return false;
        var producers = new ProducerRecord[cp.Producers.Length];
        for (int k = 0; k < producers.Length; k++)
            producers[k] = new ProducerRecord(cp.Producers[k].ProducerId, cp.Producers[k].LastSeq, cp.Producers[k].LastInstance);
        Catchup.CheckpointsSent++;
        _output.Send(to, new CheckpointMessage(cp.Instance, cp.NextPosition, producers));
        return true;
    }

    /// <summary>
    /// Learner state transfer: a peer's checkpoint at or beyond our next instance. Every instance through it is chosen and
    /// was delivered there, and delivery is deterministic, so its position and producer table are exactly what ours would be
    /// after delivering the same instances: we take them over and go on delivering from the next instance.
    /// Only the learner moves. The acceptor keeps its promise, its accepts and its floor (a promise must still report every
    /// vote from the floor up); our log gets the checkpoint, so a restart starts after the jump (its recovered accepted floor
    /// stays at or below the checkpoint's next instance, as Recover requires).
    /// A leader or candidate that is this far behind steps down first: its slots and phase 1 were built on the old next.
    /// </summary>
    private void OnCheckpoint(ushort from, in CheckpointMessage m)
    {
        if (m.Instance < _next) return; // stale: we delivered that far already (a duplicate, or a fetch answered meanwhile)
        Invariant.Require(m.NextPosition >= _nextPosition, "a checkpoint ahead of us with a lower position");
        if (_role is Role.Leader or Role.Candidate) StepDown();
        foreach (var (i, _) in _chosen)
            if (i <= m.Instance) _trimScratch.Add(i);
        foreach (long i in _trimScratch)
            if (_chosen.Remove(i, out var value)) value.Batch.Release();
        _trimScratch.Clear();
        var producers = new ProducerEntry[Switches.JumpDropsProducers ? 0 : m.Producers.Length];
        for (int k = 0; k < producers.Length; k++)
            producers[k] = new ProducerEntry(m.Producers[k].ProducerId, m.Producers[k].LastSeq, m.Producers[k].LastInstance);
        _next = m.Instance + 1;
        _nextPosition = m.NextPosition;
        _producers.Restore(producers);
        if (m.Instance > _chosenUpTo) _chosenUpTo = m.Instance;
        _logValuesFrom = _next;
        _lastCheckpoint = new Checkpoint(m.Instance, m.NextPosition, producers) { LogValuesFrom = _logValuesFrom };
        _log.AppendCheckpoint(_lastCheckpoint);
        _fetchRequestedUpTo = -1;
        Catchup.Jumps++;
        _output.Jumped(m.Instance, m.NextPosition);
        TryDeliver();
    }

    private bool TryOwnChosen(long instance, out ChosenValue value)
    {
        bool found = TryOwnChosen(instance, out var ballot, out var batch);
        value = new ChosenValue(ballot, batch, Logged: false);
        return found;
    }

    /// <summary>A value a peer knows chosen. Every value any member knows chosen has a chosen prefix below it, so this also
    /// raises how far we know the log chosen.</summary>
    private void OnFetchReply(ushort from, in FetchReplyMessage m)
    {
        if (m.Status == FetchStatus.Chosen && m.Batch is { } batch)
        {
            if (m.Instance >= _next && m.Instance < _next + 4L * _options.FetchCountMax && !_chosen.ContainsKey(m.Instance))
            {
                BatchCodec.Verify(batch.Span);
                _chosen[m.Instance] = new ChosenValue(m.Ballot, batch.Retain(), Logged: false);
                if (m.Instance > _chosenUpTo) _chosenUpTo = m.Instance;
            }
        }
        else
        {
            // Trimmed: the peer delivered everything below its floor (m.Instance), so all of it is chosen. Either way,
            // ask the next peer soon (a leader stuck on a value nobody can give it steps down: see LeaderTick).
            if (m.Status == FetchStatus.Trimmed && m.Instance - 1 > _chosenUpTo) _chosenUpTo = m.Instance - 1;
            _fetchDeadlineMs = Math.Min(_fetchDeadlineMs, NowMs + _options.FetchTimeoutMs / 4);
        }
        TryDeliver();
    }
}
