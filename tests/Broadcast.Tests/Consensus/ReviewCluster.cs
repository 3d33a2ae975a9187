using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

/// <summary>A message in flight between two members (batches copied, as on a wire).</summary>
internal sealed record Wire(ushort From, ushort To, object Message, Action<Member> Deliver)
{
    public override string ToString() => $"{From}->{To} {Message}";
}

/// <summary>One member: real core, a log it syncs only when told, captured effects.</summary>
internal sealed class ReviewNode : IConsensusLog, IConsensusOutput
{
    private readonly ReviewCluster _cluster;
    public ReviewNode(ReviewCluster cluster, ushort id) { _cluster = cluster; Id = id; }
    public ushort Id { get; }
    public Member M = null!;
    public long Lsn;
    public long SyncedLsn;
    public readonly List<(long Lsn, string Kind, long Instance, Ballot Ballot, byte[]? Bytes)> Records = new();
    public readonly List<(long Instance, long FirstPosition, byte[] Batch)> Delivered = new();
    public readonly List<PublishAckMessage> Acks = new();

    public void Sync() { SyncedLsn = Lsn; M.Durable(Lsn); }

    public long AppendPromise(Ballot ballot) { Records.Add((++Lsn, "promise", -1, ballot, null)); return Lsn; }
    public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch) { Records.Add((++Lsn, "accept", instance, ballot, batch.Span.ToArray())); return Lsn; }
    public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch) { Records.Add((++Lsn, "chosen", instance, ballot, batch.Span.ToArray())); return Lsn; }
    public long AppendCheckpoint(Checkpoint checkpoint) { Records.Add((++Lsn, "checkpoint", checkpoint.Instance, default, null)); return Lsn; }

    /// <summary>Reads below this instance fail, as in a trimmed log.</summary>
    public long LogTrimmedBelow;

    /// <summary>
    /// What the node's log would serve for the instance: its latest synced record, where (as in Node/ConsensusLog) a chosen
    /// record is written only when no record at the same or a higher ballot is held.
    /// </summary>
    public bool TryReadValue(long instance, out LogValue value)
    {
        value = default;
        if (instance < LogTrimmedBelow) return false;
        (Ballot Ballot, byte[]? Bytes) latest = default;
        foreach (var r in Records.Where(r => r.Lsn <= SyncedLsn && r.Instance == instance))
        {
            if (r.Kind == "accept" || (r.Kind == "chosen" && (latest.Bytes is null || latest.Ballot < r.Ballot)))
                latest = (r.Ballot, r.Bytes);
        }
        if (latest.Bytes is null) return false;
        value = new LogValue(instance, latest.Ballot, BatchBuffer.CopyOf(latest.Bytes));
        return true;
    }

    /// <summary>What survives a crash: the synced records only (chosen records and checkpoints dropped when <paramref name="keepChosen"/> is false).</summary>
    public RecoveredState Recover(bool keepChosen)
    {
        Ballot promised = default;
        var accepts = new Dictionary<long, LogValue>();
        var chosen = new Dictionary<long, LogValue>();
        foreach (var r in Records.Where(r => r.Lsn <= SyncedLsn))
        {
            if (r.Kind is "promise" or "accept") promised = Ballot.Max(promised, r.Ballot);
            if (r.Kind == "accept" && (!accepts.TryGetValue(r.Instance, out var held) || held.Ballot <= r.Ballot))
                accepts[r.Instance] = new LogValue(r.Instance, r.Ballot, BatchBuffer.CopyOf(r.Bytes));
            if (r.Kind == "chosen" && keepChosen) chosen.TryAdd(r.Instance, new LogValue(r.Instance, r.Ballot, BatchBuffer.CopyOf(r.Bytes)));
        }
        return new RecoveredState { Promised = promised, Accepts = accepts.Values.OrderBy(v => v.Instance).ToList(), Chosen = chosen.Values.OrderBy(v => v.Instance).ToList() };
    }

    private void Out(ushort to, object m, Action<Member> d) => _cluster.Queue.Add(new Wire(Id, to, m, d));

    public void Send(ushort to, in PreVoteMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in PreVoteReplyMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in PrepareMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in PromiseMessage m)
    {
        var f = Id; var ballot = m.Ballot; long from = m.FromInstance; bool last = m.Last;
        var records = m.Records.Select(r => (r.Instance, r.AcceptedBallot, Bytes: r.Batch.Span.ToArray())).ToArray();
        Out(to, $"Promise {ballot} from {from} last {last} records [{string.Join(",", records.Select(r => $"{r.Instance}@{r.AcceptedBallot}"))}]", x =>
        {
            var copies = records.Select(r => new PromiseRecord(r.Instance, r.AcceptedBallot, BatchBuffer.CopyOf(r.Bytes))).ToArray();
            x.Receive(f, new PromiseMessage(ballot, from, last, copies));
            foreach (var r in copies) r.Batch.Release();
        });
    }
    public void Send(ushort to, in AcceptMessage m)
    {
        var f = Id; var c = m; var bytes = m.Batch.Span.ToArray();
        Out(to, $"Accept {c.Ballot} instance {c.Instance} commit {c.CommitUpTo} runs {BatchHeader.Read(bytes).RunCount}", x =>
        {
            var b = BatchBuffer.CopyOf(bytes);
            x.Receive(f, c with { Batch = b });
            b.Release();
        });
    }
    public void Send(ushort to, in AcceptedMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in RejectedMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in HeartbeatMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in FetchMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Send(ushort to, in FetchReplyMessage m)
    {
        var f = Id; var c = m; var bytes = m.Batch?.Span.ToArray();
        Out(to, $"FetchReply {c.Instance} {c.Status} {c.Ballot}", x =>
        {
            var b = bytes is null ? null : BatchBuffer.CopyOf(bytes);
            x.Receive(f, c with { Batch = b });
            b?.Release();
        });
    }
    public void Send(ushort to, in CheckpointMessage m) { var c = m; var f = Id; Out(to, c, x => x.Receive(f, c)); }
    public void Jumped(long instance, long nextPosition) => Jumps.Add((instance, nextPosition));
    public readonly List<(long Instance, long NextPosition)> Jumps = new();
    public void Ack(long client, in PublishAckMessage ack) => Acks.Add(ack);
    public void Deliver(in DeliverMessage d) => Delivered.Add((d.Instance, d.FirstPosition, d.Batch.Span.ToArray()));
}

/// <summary>N members, one FIFO message queue the test routes by hand, a manual clock. Deterministic.</summary>
internal sealed class ReviewCluster
{
    public readonly ManualClock Clock = new();
    public readonly List<Wire> Queue = new();
    public readonly ReviewNode[] Nodes;
    public readonly List<string> Trace = new();
    private readonly Func<ushort, ConsensusOptions> _options;

    public ReviewCluster(int members, Func<ushort, ConsensusOptions> options)
    {
        _options = options;
        Nodes = Enumerable.Range(1, members).Select(i => new ReviewNode(this, (ushort)i)).ToArray();
        foreach (var n in Nodes) n.M = new Member(options(n.Id), n, n, Clock, new Random(n.Id));
    }

    public ReviewNode this[int id] => Nodes[id - 1];

    /// <summary>Crash: unsynced records are lost; the member restarts from its synced log.</summary>
    public void Restart(int id, bool keepChosen)
    {
        var n = this[id];
        n.M.Halt();
        Queue.RemoveAll(w => w.To == id || w.From == id); // in-flight messages of the old incarnation are dropped too
        n.Records.RemoveAll(r => r.Lsn > n.SyncedLsn);
        n.M = new Member(_options(n.Id), n, n, Clock, new Random(100 + n.Id), n.Recover(keepChosen));
    }

    /// <summary>Delivers queued messages that match <paramref name="pass"/>, FIFO, until none match; members in
    /// <paramref name="autoSync"/> sync after every delivery. Non-matching messages stay queued (held back).</summary>
    public void Run(Func<Wire, bool> pass, params int[] autoSync)
    {
        for (int guard = 0; guard < 100_000; guard++)
        {
            foreach (var id in autoSync) if (this[id].Lsn > this[id].SyncedLsn) this[id].Sync();
            int index = Queue.FindIndex(w => pass(w));
            if (index < 0) return;
            var w = Queue[index];
            Queue.RemoveAt(index);
            Trace.Add(w.ToString()!);
            w.Deliver(this[w.To].M);
        }
        throw new InvalidOperationException("no quiescence");
    }

    public void Drop(Func<Wire, bool> which) => Queue.RemoveAll(w => which(w));
}
