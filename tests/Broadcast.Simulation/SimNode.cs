using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>
/// One simulated member: the real <see cref="Member"/> core, its disk, and its effects routed into the simulated
/// network and the checker. Every message leaves as a copy (batches as byte arrays), as on a real wire.
/// </summary>
internal sealed class SimNode : IConsensusOutput
{
    private readonly Simulation _sim;

    public SimNode(Simulation sim, ushort id)
    {
        _sim = sim;
        Id = id;
        Disk.Appended = OnAppended;
    }

    public ushort Id { get; }
    public SimDisk Disk { get; } = new();
    public Member? Core { get; private set; }
    public bool Up => Core is not null;
    public int Incarnation { get; private set; }
    public bool SyncScheduled;

    /// <summary>Message ids by position, as delivered by any incarnation of this member.</summary>
    public List<long> Stream { get; } = new();
    /// <summary>The instance this incarnation must deliver next (deliveries come in instance order).</summary>
    public long ExpectedInstance;
    /// <summary>Position ranges [From, To) this member jumped over (learner state transfer): it cannot serve them to a
    /// subscriber (the node answers BelowRetentionFloor), though <see cref="Stream"/> holds them, copied from the sequence.</summary>
    public List<(long From, long To)> JumpedOver { get; } = new();

    public bool JumpedOverPosition(long position) => JumpedOver.Any(r => position >= r.From && position < r.To);

    public void Start(Member core)
    {
        // Votes the member hands to itself inline are votes too (review T3).
        core.Observer.Promise = m => _sim.History.OnPromise(Id, m.Ballot);
        core.Observer.Accepted = m => _sim.History.OnAccepted(Id, m.Ballot, m.FirstInstance, m.LastInstance);
        Disk.Dead = false;
        Core = core;
        Incarnation++;
        SyncScheduled = false;
        ExpectedInstance = core.NextInstance;
    }

    public void Stop()
    {
        Disk.Dead = true;
        Core = null;
        Incarnation++;
    }

    private void OnAppended()
    {
        if (!SyncScheduled && Up) _sim.ScheduleSync(this);
    }

    public void Send(ushort to, in PreVoteMessage m) { _sim.Trace($"m{Id}->m{to} {m}"); var c = m; _sim.Transmit(Id, to, core => core.Receive(Id, c)); }
    public void Send(ushort to, in PreVoteReplyMessage m) { _sim.Trace($"m{Id}->m{to} {m}"); var c = m; _sim.Transmit(Id, to, core => core.Receive(Id, c)); }

    public void Send(ushort to, in PrepareMessage m)
    {
        if (!Up) return; // crashed earlier in this event: never sent, so not in the history
        _sim.Trace($"m{Id}->m{to} PrepareMessage {m.Ballot} " + Describe(m));
        _sim.History.OnPrepare(Id, Incarnation, m.Ballot);
        var c = m;
        _sim.Transmit(Id, to, core => core.Receive(Id, c));
    }

    public void Send(ushort to, in PromiseMessage m)
    {
        if (!Up) return; // crashed earlier in this event: never sent, so not in the history
        _sim.Trace($"m{Id}->m{to} PromiseMessage {m.Ballot} " + Describe(m));
        _sim.History.OnPromise(Id, m.Ballot);
        var ballot = m.Ballot;
        long from = m.FromInstance;
        bool last = m.Last;
        var records = m.Records.Select(r => (r.Instance, r.AcceptedBallot, Bytes: r.Batch.Span.ToArray())).ToArray();
        _sim.Transmit(Id, to, core =>
        {
            var copies = records.Select(r => new PromiseRecord(r.Instance, r.AcceptedBallot, BatchBuffer.CopyOf(r.Bytes))).ToArray();
            core.Receive(Id, new PromiseMessage(ballot, from, last, copies));
            foreach (var r in copies) r.Batch.Release();
        });
    }

    public void Send(ushort to, in AcceptMessage m)
    {
        if (!Up) return; // crashed earlier in this event: never sent, so not in the history
        _sim.Trace($"m{Id}->m{to} AcceptMessage {m.Ballot} " + Describe(m));
        _sim.History.OnAccept(m.Ballot, m.Instance, m.Batch.Span);
        var c = m;
        var bytes = m.Batch.Span.ToArray();
        _sim.Transmit(Id, to, core =>
        {
            var batch = BatchBuffer.CopyOf(bytes);
            core.Receive(Id, c with { Batch = batch });
            batch.Release();
        });
    }

    public void Send(ushort to, in AcceptedMessage m)
    {
        if (!Up) return; // crashed earlier in this event: never sent, so not in the history
        _sim.Trace($"m{Id}->m{to} AcceptedMessage {m.Ballot} " + Describe(m));
        _sim.History.OnAccepted(Id, m.Ballot, m.FirstInstance, m.LastInstance);
        var c = m;
        _sim.Transmit(Id, to, core => core.Receive(Id, c));
    }

    public void Send(ushort to, in RejectedMessage m) { _sim.Trace($"m{Id}->m{to} {m}"); var c = m; _sim.Transmit(Id, to, core => core.Receive(Id, c)); }
    public void Send(ushort to, in HeartbeatMessage m) { _sim.Trace($"m{Id}->m{to} {m}"); var c = m; _sim.Transmit(Id, to, core => core.Receive(Id, c)); }
    public void Send(ushort to, in FetchMessage m) { _sim.Trace($"m{Id}->m{to} {m}"); _sim.CountFetch(); var c = m; _sim.Transmit(Id, to, core => core.Receive(Id, c)); }

    public void Send(ushort to, in FetchReplyMessage m)
    {
        _sim.Trace($"m{Id}->m{to} FetchReplyMessage {m.Ballot} " + Describe(m));
        var c = m;
        var bytes = m.Batch?.Span.ToArray();
        _sim.Transmit(Id, to, core =>
        {
            var batch = bytes is null ? null : BatchBuffer.CopyOf(bytes);
            core.Receive(Id, c with { Batch = batch });
            batch?.Release();
        });
    }

    public void Send(ushort to, in CheckpointMessage m)
    {
        _sim.Trace($"m{Id}->m{to} CheckpointMessage instance {m.Instance} position {m.NextPosition} producers {m.Producers.Length}");
        var c = m with { Producers = [.. m.Producers] };
        _sim.Transmit(Id, to, core => core.Receive(Id, c));
    }

    public void Jumped(long instance, long nextPosition)
    {
        if (!Up) return;
        _sim.Trace($"m{Id} jumped to instance {instance} position {nextPosition}");
        _sim.History.OnJump(this, instance, nextPosition);
    }

    private static string Describe(in PrepareMessage m) => $"from {m.FromInstance}";
    private static string Describe(in PromiseMessage m) => $"chunk {m.FromInstance} last {m.Last} records {string.Join(",", m.Records.Select(r => $"{r.Instance}@{r.AcceptedBallot}"))}";
    private static string Describe(in AcceptMessage m) => $"instance {m.Instance} commit {m.CommitUpTo} len {m.Batch.Length}";
    private static string Describe(in AcceptedMessage m) => $"{m.FirstInstance}..{m.LastInstance}";
    private static string Describe(in FetchReplyMessage m) => $"instance {m.Instance} {m.Status}";

    // A member that crashed earlier in the current event (see Simulation.Transmit) acks and delivers nothing more.
    public void Ack(long client, in PublishAckMessage ack)
    {
        if (Up) _sim.AckToPublisher(Id, (int)client, ack);
    }

    public void Deliver(in DeliverMessage delivery)
    {
        if (!Up) return;
        _sim.Trace($"m{Id} deliver instance {delivery.Instance} at {delivery.FirstPosition}");
        _sim.History.OnDeliver(this, delivery);
    }
}
