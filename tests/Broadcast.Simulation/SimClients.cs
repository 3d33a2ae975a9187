using System.Buffers.Binary;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>A run a simulated publisher will send, exactly as it sits in a batch, with fixed boundaries across retries.</summary>
internal sealed class PlannedRun
{
    public required ulong FirstSeq { get; init; }
    public required int Count { get; init; }
    public required byte[] Bytes { get; init; }
    public required long[] Ids { get; init; }
    public required long AvailableAtMs { get; init; }
    public bool Confirmed;
    public long AckedPosition = -1;
    public ulong LastSeq => FirstSeq + (ulong)Count - 1;
}

/// <summary>
/// A publisher with a producer id (exactly-once, FIFO) or anonymous (at-least-once). Keeps a few runs in flight,
/// goes back to the first unconfirmed run on a timeout, a NotLeader or an out-of-sequence answer.
/// </summary>
internal sealed class SimPublisher
{
    private const int Window = 3;
    private const int TimeoutMs = 400;
    private readonly Dictionary<ulong, int> _runBySeq = new();
    private int _firstUnconfirmed;
    private int _nextToSend;
    private long _lastProgressMs;
    private long _resendNotBeforeMs;

    public SimPublisher(int index, ulong producerId, Random random, int runs, int spreadMs, History history)
    {
        Index = index;
        ProducerId = producerId;
        ulong seq = 1;
        int message = 0;
        for (int r = 0; r < runs; r++)
        {
            int count = random.Next(1, 5);
            var ids = new long[count];
            var payloads = new byte[count][];
            for (int k = 0; k < count; k++)
            {
                ids[k] = (long)index << 32 | (uint)message++;
                payloads[k] = new byte[8 + random.Next(0, 40)];
                random.NextBytes(payloads[k]);
                BinaryPrimitives.WriteInt64LittleEndian(payloads[k], ids[k]);
                history.Published[ids[k]] = (index, producerId == 0 ? 0 : seq + (ulong)k);
            }
            ulong firstSeq = producerId == 0 ? (ulong)r + 1 : seq;
            Runs.Add(new PlannedRun
            {
                FirstSeq = firstSeq, Count = count, Bytes = EncodeRun(producerId, firstSeq, payloads), Ids = ids,
                AvailableAtMs = (long)r * spreadMs / runs,
            });
            _runBySeq[firstSeq] = r;
            seq += (ulong)count;
        }
    }

    public int Index { get; }
    public ulong ProducerId { get; }
    public bool Anonymous => ProducerId == 0;
    public List<PlannedRun> Runs { get; } = new();
    public ushort Target = 1;
    public bool Done => _firstUnconfirmed == Runs.Count;

    private static byte[] EncodeRun(ulong producerId, ulong firstSeq, byte[][] payloads)
    {
        int body = payloads.Sum(p => Varint.Size((uint)p.Length) + p.Length);
        var bytes = new byte[Limits.RunHeaderBytes + body];
        new RunHeader(producerId, firstSeq, payloads.Length, body).Write(bytes);
        int offset = Limits.RunHeaderBytes;
        foreach (var p in payloads)
        {
            offset += Varint.Write(bytes.AsSpan(offset), (uint)p.Length);
            p.CopyTo(bytes, offset);
            offset += p.Length;
        }
        return bytes;
    }

    /// <summary>Sends what the window allows; on a timeout, switches member and resends from the first unconfirmed run.</summary>
    public void Pump(Simulation sim, long now)
    {
        if (Done || now < _resendNotBeforeMs) return;
        if (_nextToSend > _firstUnconfirmed && now - _lastProgressMs > TimeoutMs) GoBack(sim.RandomMember(), now);
        while (_nextToSend < Runs.Count && _nextToSend < _firstUnconfirmed + Window && Runs[_nextToSend].AvailableAtMs <= now)
        {
            if (!Runs[_nextToSend].Confirmed) sim.SendPublish(this, Target, Runs[_nextToSend]);
            if (_nextToSend == _firstUnconfirmed) _lastProgressMs = now;
            _nextToSend++;
        }
    }

    private void GoBack(ushort target, long now)
    {
        Target = target;
        _nextToSend = _firstUnconfirmed;
        _lastProgressMs = now;
        _resendNotBeforeMs = now + 20;
    }

    public void OnAck(Simulation sim, in PublishAckMessage ack, long now)
    {
        if (!_runBySeq.TryGetValue(ack.FirstSeq, out int index)) { sim.History.Fail($"publisher {Index} got an ack for unknown seq {ack.FirstSeq}"); return; }
        var run = Runs[index];
        switch (ack.Status)
        {
            case PublishStatus.Committed:
                if (run.AckedPosition >= 0 && run.AckedPosition != ack.Position && !Anonymous)
                    sim.History.Fail($"publisher {Index} run {ack.FirstSeq} acked at {ack.Position} after {run.AckedPosition}");
                if (run.AckedPosition < 0 || !Anonymous) run.AckedPosition = ack.Position;
                run.Confirmed = true;
                break;
            case PublishStatus.Duplicate:
                if (Anonymous) sim.History.Fail($"anonymous publisher {Index} got a Duplicate ack");
                run.Confirmed = true;
                break;
            case PublishStatus.OutOfSequence:
                foreach (var r in Runs) if (r.LastSeq < ack.ExpectedSeq) r.Confirmed = true;
                GoBack(Target, now);
                break;
            case PublishStatus.NotLeader:
                GoBack(ack.LeaderId != 0 ? ack.LeaderId : sim.RandomMember(), now);
                break;
            default:
                GoBack(Target, now);
                break;
        }
        int before = _firstUnconfirmed;
        while (_firstUnconfirmed < Runs.Count && Runs[_firstUnconfirmed].Confirmed) _firstUnconfirmed++;
        if (_firstUnconfirmed != before) _lastProgressMs = now;
        if (_nextToSend < _firstUnconfirmed) _nextToSend = _firstUnconfirmed;
    }
}

/// <summary>A subscriber reading one member's delivered stream; after a disconnect it resumes at its next position elsewhere.</summary>
internal sealed class SimSubscriber(int index, ushort node)
{
    public int Index { get; } = index;
    public ushort Node = node;
    public long Next;
    public List<long> Received { get; } = new();

    public void Pump(Simulation sim)
    {
        var member = sim.Nodes[Node - 1];
        if (member.Core is not { } core)
        {
            Node = sim.RandomMember();
            return;
        }
        // Positions the member jumped over are below its retention floor: the node refuses them, the subscriber goes elsewhere.
        if (member.JumpedOverPosition(Next))
        {
            Node = sim.RandomMember();
            return;
        }
        while (Next < core.NextPosition && Next < member.Stream.Count && !member.JumpedOverPosition(Next)) Received.Add(member.Stream[(int)Next++]);
    }
}
