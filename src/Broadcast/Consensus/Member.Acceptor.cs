using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

// The acceptor: promises, accepts, and answers only once the log reports the record durable.
public sealed partial class Member
{
    private readonly record struct AcceptSlot(Ballot Ballot, BatchBuffer Batch, long Lsn);

    /// <summary>An answer waiting for the log: a promise (to a candidate) or an Accepted (to a leader).</summary>
    private readonly record struct PendingDurable(long Lsn, bool IsPromise, long Instance, Ballot Ballot, ushort To);

    private Ballot _promised;
    private Ballot _recoveredPromise;
    /// <summary>Log sequence number of the record that established <see cref="_promised"/> (a promise or an accept).</summary>
    private long _promiseLsn;
    private long _durableLsn;
    private readonly Dictionary<long, AcceptSlot> _accepted = new();
    private long _maxAccepted = -1;
    /// <summary>Accepts below this instance were dropped from memory (delivered long ago); prepares below it are refused.</summary>
    private long _acceptedFloor;
    /// <summary>
    /// The pin: a promise of <see cref="_pinBallot"/> (pending or given) covers every accept from <see cref="_pinFrom"/> up,
    /// so none of them may be trimmed while that ballot is our promise: the promise (and its re-sends, answered from
    /// memory again) must report every vote at or above its from. A commit advertisement at a ballot at or above the pin
    /// releases the instances it covers (they are chosen, and that ballot's leader finished phase 1) so that a long
    /// candidacy cannot hold memory forever. The release may come from a heartbeat of a ballot we never promised (heartbeats
    /// do not raise the promise), so our promise of the pinned ballot may still be pending or re-asked after it: safety
    /// then rests on the refusal at answer time (<see cref="AnswerPromise"/>) and in <see cref="OnPrepare"/>, which send no
    /// promise from below the floor at all; the pin only makes those refusals rare (liveness).
    /// A higher promise replaces the pin. Memory stays bounded: the pinned accepts are ones we already hold, and we
    /// accept nothing new below our promise.
    /// </summary>
    private Ballot _pinBallot;
    private long _pinFrom = long.MaxValue;
    private readonly Queue<PendingDurable> _pending = new();
    private readonly List<PendingDurable> _drained = new();
    private readonly List<PromiseRecord> _promiseScratch = new();

    private void OnPrepare(ushort from, in PrepareMessage m)
    {
        NoteRound(m.Ballot);
        if (m.Ballot < _promised)
        {
            SendRejected(from, new RejectedMessage(m.Ballot, m.FromInstance, _promised));
            return;
        }
        // One flaky member must not unseat a healthy leader; and a candidate this far behind cannot be answered.
        if (from != _self && RefusesPromise(from)) return;
        if (m.FromInstance < _acceptedFloor) return;
        if (m.Ballot > _promised)
        {
            _promised = m.Ballot;
            _promiseLsn = _log.AppendPromise(m.Ballot);
            StepDownIfOutvoted();
            // Give the candidate we just promised a full election timeout to finish phase 1 before we compete with it
            // (as a Raft voter does): otherwise, with slow syncs, candidacies keep preempting one another.
            if (from != _self) ResetElectionTimer(NowMs);
        }
        Pin(m.Ballot, m.FromInstance);
        if (_promiseLsn <= _durableLsn) PromiseDurable(from, m.Ballot, m.FromInstance);
        else _pending.Enqueue(new PendingDurable(_promiseLsn, IsPromise: true, m.FromInstance, m.Ballot, from));
    }

    private void Pin(Ballot ballot, long fromInstance)
    {
        if (_pinBallot != ballot)
        {
            _pinBallot = ballot;
            _pinFrom = fromInstance;
        }
        else if (fromInstance < _pinFrom) _pinFrom = fromInstance;
    }

    /// <summary>The first instance the pin keeps (long.MaxValue when no promise of our current ballot pins anything).</summary>
    private long PinnedFrom => _pinBallot == _promised ? _pinFrom : long.MaxValue;

    /// <summary>A commit advertisement at <paramref name="ballot"/> covers everything up to <paramref name="upTo"/>: those
    /// instances may be trimmed again, even with our promise still pending (it is then refused at answer time).</summary>
    private void ReleasePin(Ballot ballot, long upTo)
    {
        if (ballot >= _pinBallot && upTo >= _pinFrom) _pinFrom = upTo + 1;
    }

    private bool RefusesPromise(ushort candidate) =>
        _role == Role.Leader || (_leaderId != 0 && _leaderId != candidate && NowMs - _leaderHeardMs < _options.ElectionTimeoutMinMs);

    private void OnAccept(ushort from, in AcceptMessage m)
    {
        NoteRound(m.Ballot);
        if (m.Ballot >= _promised && from != _self) NoteLeader(m.Ballot);
        NoteCommit(m.Ballot, m.CommitUpTo);
        if (m.Ballot < _promised && !Switches.AcceptBelowPromise)
        {
            SendRejected(from, new RejectedMessage(m.Ballot, m.Instance, _promised));
            return;
        }
        // An instance we delivered is chosen: we answer with its value rather than vote. A vote there would be safe for
        // Paxos, but a stale leader's (at a ballot below the one that chose) would overwrite the chosen value in our log,
        // which serves delivered instances to peers (see TryReadDelivered).
        if (m.Instance >= _acceptedFloor && m.Instance >= _next) Accept(m.Ballot, m.Instance, m.Batch);
        else if (from != _self) AnswerBelowFloor(from, m.Instance);
        StepDownIfOutvoted();
        TryDeliver();
    }

    /// <summary>
    /// An Accept for an instance we delivered (and perhaps trimmed long ago): it is chosen, so tell the leader rather than stay
    /// silent (it would retransmit forever and never get our vote): the chosen value if we still hold it (the leader's
    /// learner takes it and its commit moves over it), else our floor, which tells it everything below is chosen (its
    /// learner then fetches; a leader that stays stuck on a value nobody can give it steps down: see LeaderTick).
    /// </summary>
    private void AnswerBelowFloor(ushort leader, long instance)
    {
        if (instance < _acceptedFloor) Floor.AcceptsBelowFloor++;
        else Catchup.AcceptsDelivered++;
        if (_chosen.TryGetValue(instance, out var value))
            _output.Send(leader, new FetchReplyMessage(instance, value.Ballot, FetchStatus.Chosen, value.Batch));
        else if (TryReadDelivered(instance, out var logged))
        {
            Catchup.LogServed++;
            _output.Send(leader, new FetchReplyMessage(instance, logged.Ballot, FetchStatus.Chosen, logged.Batch));
            logged.Batch.Release();
        }
        else if (instance < _next)
            _output.Send(leader, new FetchReplyMessage(_next, default, FetchStatus.Trimmed, null)); // everything below next is chosen (delivered or jumped over)
    }

    /// <summary>What a Trimmed answer reports: every instance below it we delivered (so it is chosen) and no longer hold.</summary>
    private long DeliveredFloor => Math.Min(_acceptedFloor, _next);

    private void Accept(Ballot ballot, long instance, BatchBuffer batch)
    {
        if (_accepted.TryGetValue(instance, out var held))
        {
            if (held.Ballot == ballot)
            {
                Invariant.Require(held.Batch.Span.SequenceEqual(batch.Span), "one ballot proposed two values for one instance");
                if (held.Lsn <= _durableLsn || Switches.AckBeforeDurable)
                    SendAccepted(ballot.NodeId, new AcceptedMessage(ballot, instance, instance));
                return;
            }
            Invariant.Require(held.Ballot < ballot || Switches.AcceptBelowPromise, "accept would overwrite a higher ballot");
            held.Batch.Release();
        }
        long lsn = _log.AppendAccept(instance, ballot, batch);
        if (ballot > _promised)
        {
            _promised = ballot;
            _promiseLsn = lsn;
        }
        _accepted[instance] = new AcceptSlot(ballot, batch.Retain(), lsn);
        if (instance > _maxAccepted) _maxAccepted = instance;
        if (Switches.AckBeforeDurable) SendAccepted(ballot.NodeId, new AcceptedMessage(ballot, instance, instance));
        else _pending.Enqueue(new PendingDurable(lsn, IsPromise: false, instance, ballot, ballot.NodeId));
    }

    private void OnDurable(long lsn)
    {
        if (lsn <= _durableLsn) return;
        _durableLsn = lsn;
        _drained.Clear();
        while (_pending.TryPeek(out var p) && p.Lsn <= lsn) _drained.Add(_pending.Dequeue());
        int i = 0;
        while (i < _drained.Count)
        {
            var first = _drained[i];
            if (first.IsPromise)
            {
                if (_promised == first.Ballot) PromiseDurable(first.To, first.Ballot, first.Instance);
                else SendRejected(first.To, new RejectedMessage(first.Ballot, first.Instance, _promised));
                i++;
                continue;
            }
            // Coalesce consecutive instances accepted at one ballot into one Accepted range.
            long last = first.Instance;
            int j = i + 1;
            while (j < _drained.Count && !_drained[j].IsPromise && _drained[j].Ballot == first.Ballot && _drained[j].Instance == last + 1)
            {
                last++;
                j++;
            }
            if (!Switches.AckBeforeDurable) SendAccepted(first.To, new AcceptedMessage(first.Ballot, first.Instance, last));
            i = j;
        }
    }

    /// <summary>The promise of <paramref name="ballot"/> is durable: a candidate of our own may now send its Prepare, and the answer goes out.</summary>
    private void PromiseDurable(ushort to, Ballot ballot, long fromInstance)
    {
        if (to == _self && _role == Role.Candidate && ballot == _ballot) BroadcastPrepare(NowMs);
        AnswerPromise(to, ballot, fromInstance);
    }

    /// <summary>
    /// Streams the accepted records from <paramref name="fromInstance"/> in chunks. Chunk k covers the instance span
    /// [from + k*C, from + (k+1)*C) with C = <see cref="ConsensusOptions.PromiseChunkInstances"/>; the last chunk covers the rest.
    /// FromInstance tells the candidate which chunk it is; it counts a promise whole only with every chunk up to a last one,
    /// in whatever order they arrive, so a lost chunk can never be skipped.
    /// </summary>
    private void AnswerPromise(ushort to, Ballot ballot, long fromInstance)
    {
        // Belt and braces for the pin: a promise that cannot list every vote from its from must not go out at all.
        // The candidate gets no answer from us; its candidacy times out and the next one starts from its own next.
        if (fromInstance < _acceptedFloor)
        {
            Floor.PromisesRefused++;
            return;
        }
        int span = _options.PromiseChunkInstances;
        long maxAccepted = _maxAccepted;
        for (long chunkStart = fromInstance; ; chunkStart += span)
        {
            bool last = chunkStart + span > maxAccepted;
            long end = last ? maxAccepted : chunkStart + span - 1;
            _promiseScratch.Clear();
            for (long i = chunkStart; i <= end; i++)
                if (_accepted.TryGetValue(i, out var a)) _promiseScratch.Add(new PromiseRecord(i, a.Ballot, a.Batch));
            if (Switches.PromiseOmitsVote && to != _self && _promiseScratch.Count > 0) _promiseScratch.RemoveAt(0);
            var message = new PromiseMessage(ballot, chunkStart, last, _promiseScratch.ToArray());
            if (to == _self)
            {
                Observer.Promise?.Invoke(message);
                OnPromise(_self, message);
            }
            else _output.Send(to, message);
            if (last) break;
        }
    }

    private void SendAccepted(ushort to, in AcceptedMessage m)
    {
        if (to == _self)
        {
            Observer.Accepted?.Invoke(m);
            OnAccepted(_self, m);
        }
        else _output.Send(to, m);
    }

    private void SendRejected(ushort to, in RejectedMessage m)
    {
        if (to == _self) OnRejected(_self, m);
        else _output.Send(to, m);
    }

    private void OnRejected(ushort from, in RejectedMessage m)
    {
        NoteRound(m.Promised);
        if (_role is Role.Leader or Role.Candidate && m.Ballot == _ballot && m.Promised > _ballot) StepDown();
    }

    private void NoteRound(Ballot ballot)
    {
        if (ballot.Round > _highestRoundSeen) _highestRoundSeen = ballot.Round;
    }

    /// <summary>Our own acceptor promised a higher ballot: our candidacy or leadership is over.</summary>
    private void StepDownIfOutvoted()
    {
        if (_role is Role.Leader or Role.Candidate && _promised > _ballot) StepDown();
    }
}
