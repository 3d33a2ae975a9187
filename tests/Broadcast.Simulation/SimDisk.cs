using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>
/// A member's log on a simulated disk. Appends go to an unsynced tail; a sync moves the tail to the durable part.
/// A crash keeps a random prefix of the unsynced tail (writes that happened to reach the platter) and may leave the
/// next record torn, which recovery must drop. The disk outlives the member's crashes; its bytes are copies.
/// </summary>
internal sealed class SimDisk : IConsensusLog
{
    private enum Kind : byte { Promise, Accept, Chosen, Checkpoint }

    private sealed record DiskRecord(Kind Kind, long Lsn, long Instance, Ballot Ballot, byte[]? Bytes, Checkpoint? Checkpoint)
    {
        public bool Torn { get; init; }
    }

    private readonly List<DiskRecord> _durable = new();
    private readonly List<DiskRecord> _unsynced = new();
    private long _nextLsn = 1;

    /// <summary>Called after each append, so the owner can schedule a sync.</summary>
    public Action? Appended;

    public bool HasUnsynced => _unsynced.Count > 0;
    /// <summary>The member crashed in the middle of an event: what the rest of that event appends never reaches the disk.</summary>
    public bool Dead;

    public long AppendPromise(Ballot ballot) => Add(new DiskRecord(Kind.Promise, _nextLsn, -1, ballot, null, null));
    public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch) =>
        Add(new DiskRecord(Kind.Accept, _nextLsn, instance, ballot, batch.Span.ToArray(), null));
    public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch) =>
        Add(new DiskRecord(Kind.Chosen, _nextLsn, instance, ballot, batch.Span.ToArray(), null));
    public long AppendCheckpoint(Checkpoint checkpoint) =>
        Add(new DiskRecord(Kind.Checkpoint, _nextLsn, checkpoint.Instance, default, null, checkpoint with { Producers = [.. checkpoint.Producers] }));

    private long Add(DiskRecord record)
    {
        if (Dead) return _nextLsn; // the dead incarnation gets an answer; nothing is stored
        _nextLsn++;
        _unsynced.Add(record);
        Appended?.Invoke();
        return record.Lsn;
    }

    /// <summary>One fsync: everything appended so far becomes durable. Returns the highest durable LSN.</summary>
    public long Sync()
    {
        _durable.AddRange(_unsynced);
        _unsynced.Clear();
        return _nextLsn - 1;
    }

    public void Crash(Random random, bool tornWrites)
    {
        int kept = random.Next(_unsynced.Count + 1);
        _durable.AddRange(_unsynced.Take(kept));
        if (tornWrites && kept < _unsynced.Count && random.Next(2) == 0) _durable.Add(_unsynced[kept] with { Torn = true });
        _unsynced.Clear();
    }

    /// <summary>Recovery scan: drops a torn tail, then rebuilds promise, accepts, chosen values and the last checkpoint.</summary>
    public RecoveredState Recover()
    {
        if (_durable.Count > 0 && _durable[^1].Torn) _durable.RemoveAt(_durable.Count - 1);
        if (_durable.Any(r => r.Torn)) throw new InvalidOperationException("torn record in the middle of the log");
        Ballot promised = default;
        var accepts = new Dictionary<long, DiskRecord>();
        var chosen = new Dictionary<long, DiskRecord>();
        Checkpoint? checkpoint = null;
        foreach (var r in _durable)
        {
            switch (r.Kind)
            {
                case Kind.Promise:
                    promised = Ballot.Max(promised, r.Ballot);
                    break;
                case Kind.Accept:
                    promised = Ballot.Max(promised, r.Ballot);
                    if (!accepts.TryGetValue(r.Instance, out var held) || held.Ballot <= r.Ballot) accepts[r.Instance] = r;
                    break;
                case Kind.Chosen:
                    chosen.TryAdd(r.Instance, r);
                    break;
                case Kind.Checkpoint:
                    checkpoint = r.Checkpoint;
                    break;
            }
        }
        return new RecoveredState
        {
            Promised = promised,
            Accepts = accepts.Values.OrderBy(r => r.Instance).Select(ToValue).ToList(),
            Chosen = chosen.Values.OrderBy(r => r.Instance).Select(ToValue).ToList(),
            Checkpoint = checkpoint,
        };
    }

    private static LogValue ToValue(DiskRecord r) => new(r.Instance, r.Ballot, BatchBuffer.CopyOf(r.Bytes));
}
