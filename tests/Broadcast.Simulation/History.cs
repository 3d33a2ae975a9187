using System.Buffers.Binary;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>
/// The checker: watches every Prepare, Promise, Accept, Accepted and delivery of a run as it happens, and judges the
/// whole history at the end. Each rule below is a property of Paxos or of atomic broadcast; a violation is a bug.
/// </summary>
internal sealed class History
{
    private readonly List<string> _violations = new();
    private readonly Dictionary<(ulong Ballot, long Instance), (uint Crc, int Length)> _acceptValues = new();
    private readonly Dictionary<ulong, (ushort Node, int Incarnation)> _prepareBallots = new();
    private readonly Dictionary<ushort, Ballot> _maxPromise = new();
    private readonly Dictionary<ushort, Ballot> _maxAccepted = new();
    private readonly Dictionary<long, (uint Crc, int Length, long FirstPosition)> _instances = new();
    private readonly Dictionary<(ulong Ballot, long Instance), ulong> _votes = new();
    private readonly Dictionary<long, (uint Crc, int Length)> _chosenValues = new();
    /// <summary>Per delivered instance, the position after its last message.</summary>
    private readonly Dictionary<long, long> _instanceEnds = new();

    public IReadOnlyList<string> Violations => _violations;
    /// <summary>The one global sequence: message id by position.</summary>
    public List<long> Global { get; } = new();
    /// <summary>Every published message: id -> (publisher index, seq or 0 for anonymous).</summary>
    public Dictionary<long, (int Publisher, ulong Seq)> Published { get; } = new();
    public long Deliveries { get; private set; }
    public long Jumps { get; private set; }
    public int Ballots => _prepareBallots.Count;
    public int Leaders => _acceptValues.Keys.Select(k => k.Ballot).Distinct().Count();

    public void Fail(string violation)
    {
        if (_violations.Count < 20) _violations.Add(violation);
    }

    /// <summary>A ballot is used by one incarnation of one member only: a restarted member must pick a higher round.</summary>
    public void OnPrepare(ushort node, int incarnation, Ballot ballot)
    {
        if (!_prepareBallots.TryAdd(ballot.Value, (node, incarnation)) && _prepareBallots[ballot.Value] != (node, incarnation))
            Fail($"ballot {ballot} prepared by member {node} incarnation {incarnation} after {_prepareBallots[ballot.Value]}: ballot reused");
    }

    /// <summary>Promises never go down, across restarts too; and an acceptor never promises below a ballot it accepted.</summary>
    public void OnPromise(ushort node, Ballot ballot)
    {
        var floor = Ballot.Max(_maxPromise.GetValueOrDefault(node), _maxAccepted.GetValueOrDefault(node));
        if (ballot < floor) Fail($"member {node} promised {ballot} after promising or accepting {floor}: promise went down");
        else _maxPromise[node] = ballot;
    }

    /// <summary>No Accepted below a promise already given. A majority of Accepted at (ballot, instance) chooses that
    /// ballot's value for the instance: every value chosen for one instance, at any ballot, must be the same (review T7).</summary>
    public void OnAccepted(ushort node, Ballot ballot, long first, long last)
    {
        if (_maxPromise.TryGetValue(node, out var max) && ballot < max)
            Fail($"member {node} sent Accepted at {ballot} after promising {max}: accepted below its promise");
        _maxAccepted[node] = Ballot.Max(_maxAccepted.GetValueOrDefault(node), ballot);
        for (long i = first; i <= last; i++)
        {
            ulong votes = _votes.GetValueOrDefault((ballot.Value, i)) | (1UL << node);
            _votes[(ballot.Value, i)] = votes;
            if (System.Numerics.BitOperations.PopCount(votes) != Quorum) continue;
            if (!_acceptValues.TryGetValue((ballot.Value, i), out var value))
            {
                Fail($"member {node} sent Accepted at {ballot} for instance {i}, which that ballot never proposed");
                continue;
            }
            if (!_chosenValues.TryAdd(i, value) && _chosenValues[i] != value)
                Fail($"instance {i}: ballot {ballot} chose {value} after {_chosenValues[i]} was chosen: two values chosen");
        }
    }

    /// <summary>Majority size of the configuration (votes needed to choose a value).</summary>
    public int Quorum { get; set; } = int.MaxValue;

    /// <summary>What a member answered before a crash binds it after the restart.</summary>
    public void CheckRestart(ushort node, Ballot recovered)
    {
        var floor = Ballot.Max(_maxPromise.GetValueOrDefault(node), _maxAccepted.GetValueOrDefault(node));
        if (recovered < floor)
            Fail($"member {node} restarted with promise {recovered} below the {floor} it had promised or accepted: promise went down across a restart");
    }

    /// <summary>One ballot proposes one value per instance.</summary>
    public void OnAccept(Ballot ballot, long instance, ReadOnlySpan<byte> batch)
    {
        var value = (BinaryPrimitives.ReadUInt32LittleEndian(batch), batch.Length);
        if (!_acceptValues.TryAdd((ballot.Value, instance), value) && _acceptValues[(ballot.Value, instance)] != value)
            Fail($"ballot {ballot} proposed two values for instance {instance}");
    }

    /// <summary>Agreement per instance, in-order delivery, and every member's stream a gap-free prefix of one sequence
    /// that never changes (re-deliveries after a restart must repeat it exactly).</summary>
    public void OnDeliver(SimNode node, in DeliverMessage d)
    {
        Deliveries++;
        var span = d.Batch.Span;
        if (d.Instance != node.ExpectedInstance)
            Fail($"member {node.Id} delivered instance {d.Instance}, expected {node.ExpectedInstance}: out of order");
        node.ExpectedInstance = d.Instance + 1;
        var value = (BinaryPrimitives.ReadUInt32LittleEndian(span), span.Length, d.FirstPosition);
        if (_chosenValues.TryGetValue(d.Instance, out var chosen) && chosen != (value.Item1, value.Item2))
            Fail($"member {node.Id} delivered instance {d.Instance} as {value}, but {chosen} was chosen: delivered a value that was not chosen");
        if (!_instances.TryAdd(d.Instance, value) && _instances[d.Instance] != value)
            Fail($"member {node.Id} delivered instance {d.Instance} as {value}, another member as {_instances[d.Instance]}: agreement broken");
        long position = d.FirstPosition;
        int runIndex = 0;
        var runs = BatchCodec.EnumerateRuns(span);
        while (runs.MoveNext())
        {
            if (Array.IndexOf(d.SkippedRuns, (ushort)runIndex++) >= 0) continue;
            var messages = runs.CurrentMessages;
            for (int k = 0; k < runs.Current.Count; k++)
            {
                int length = (int)Varint.Read(messages, out int consumed);
                long id = BinaryPrimitives.ReadInt64LittleEndian(messages[consumed..]);
                messages = messages[(consumed + length)..];
                Place(node.Stream, position, id, $"member {node.Id}");
                Place(Global, position, id, "global sequence");
                position++;
            }
        }
        if (!_instanceEnds.TryAdd(d.Instance, position) && _instanceEnds[d.Instance] != position)
            Fail($"member {node.Id} delivered instance {d.Instance} up to position {position}, another member up to {_instanceEnds[d.Instance]}: agreement broken");
    }

    /// <summary>A learner jump (state transfer) to a checkpoint: the instance must have been delivered somewhere, and the
    /// position after it must be the one it ended at there. The member's stream takes the global sequence up to there.</summary>
    public void OnJump(SimNode node, long instance, long nextPosition)
    {
        Jumps++;
        if (instance < node.ExpectedInstance)
            Fail($"member {node.Id} jumped back to instance {instance}, expected {node.ExpectedInstance} or later");
        if (!_instanceEnds.TryGetValue(instance, out long end))
            Fail($"member {node.Id} jumped to instance {instance}, which no member delivered");
        else if (end != nextPosition)
            Fail($"member {node.Id} jumped to instance {instance} at position {nextPosition}, but it ends at {end}: jump position wrong");
        else if (nextPosition > Global.Count)
            Fail($"member {node.Id} jumped to position {nextPosition} beyond the sequence's {Global.Count}: gap");
        else
        {
            long from = node.Stream.Count;
            for (long p = from; p < nextPosition; p++) node.Stream.Add(Global[(int)p]);
            if (nextPosition > from) node.JumpedOver.Add((from, nextPosition));
        }
        node.ExpectedInstance = instance + 1;
    }

    private void Place(List<long> stream, long position, long id, string what)
    {
        if (position < stream.Count)
        {
            if (stream[(int)position] != id) Fail($"{what}: position {position} holds {id:x} after {stream[(int)position]:x}: committed prefix changed");
        }
        else if (position == stream.Count) stream.Add(id);
        else Fail($"{what}: position {position} delivered after only {stream.Count}: gap");
    }

    /// <summary>Validity, integrity, exactly-once and FIFO per producer, acked positions, subscriber streams.</summary>
    public void Final(IReadOnlyList<SimPublisher> publishers, IReadOnlyList<SimSubscriber> subscribers)
    {
        var seen = new HashSet<long>();
        var nextSeq = new Dictionary<int, ulong>();
        for (int p = 0; p < Global.Count; p++)
        {
            long id = Global[p];
            if (!Published.TryGetValue(id, out var origin))
            {
                Fail($"position {p}: message {id:x} was never published");
                continue;
            }
            if (publishers[origin.Publisher].Anonymous) continue;
            if (!seen.Add(id)) Fail($"position {p}: message {id:x} of publisher {origin.Publisher} delivered twice");
            ulong expected = nextSeq.GetValueOrDefault(origin.Publisher, 1UL);
            if (origin.Seq != expected) Fail($"position {p}: publisher {origin.Publisher} seq {origin.Seq} delivered where seq {expected} was due: FIFO broken");
            nextSeq[origin.Publisher] = origin.Seq + 1;
        }
        foreach (var publisher in publishers)
            foreach (var run in publisher.Runs)
            {
                if (run.AckedPosition < 0) continue;
                for (int k = 0; k < run.Ids.Length; k++)
                {
                    long position = run.AckedPosition + k;
                    if (position >= Global.Count || Global[(int)position] != run.Ids[k])
                        Fail($"publisher {publisher.Index} message {run.Ids[k]:x} acked at position {position} but not delivered there");
                }
            }
        // Every run a publisher was told is in (Committed, Duplicate, or below an OutOfSequence ack's expected seq) must be
        // in the sequence, wherever it landed: a lost confirmed tail is a lost acked message.
        var delivered = new HashSet<long>(Global);
        foreach (var publisher in publishers)
            foreach (var run in publisher.Runs)
            {
                if (!run.Confirmed) continue;
                foreach (long id in run.Ids)
                    if (!delivered.Contains(id))
                    {
                        Fail($"publisher {publisher.Index} run {run.FirstSeq} was confirmed but message {id:x} was never delivered: confirmed run lost");
                        break;
                    }
            }
        foreach (var subscriber in subscribers)
            for (int p = 0; p < subscriber.Received.Count; p++)
                if (p >= Global.Count || subscriber.Received[p] != Global[p])
                {
                    Fail($"subscriber {subscriber.Index} got {subscriber.Received[p]:x} at position {p}: not a prefix of the sequence");
                    break;
                }
    }
}
