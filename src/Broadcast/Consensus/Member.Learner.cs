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
        _log.AppendCheckpoint(new Checkpoint(instance, _nextPosition, _producers.Snapshot()));
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

    /// <summary>Serves values we know chosen, in order from the requested instance, until a gap or the byte budget.</summary>
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
            bool trimmed = i < _next && i < _acceptedFloor;
            _output.Send(from, new FetchReplyMessage(trimmed ? DeliveredFloor : i, default, trimmed ? FetchStatus.Trimmed : FetchStatus.Unknown, null));
            return;
        }
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
