using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>
/// A member's log on a simulated disk, modelling the node's log (Node/ConsensusLog.cs over Storage/GroupCommitLog):
/// - Appends go to an unsynced tail; a sync moves the tail to the durable part. A crash keeps a random prefix of the
///   unsynced tail (writes that happened to reach the platter) and may leave the next record torn, which recovery drops.
/// - Records are promises, accepts and checkpoints. A chosen value is written as an accept record at its ballot, and only
///   when the log holds no accept for the instance at the same or a higher ballot (ConsensusLog.AppendChosen). An accept
///   above every promise record is preceded by a promise record (ConsensusLog.AppendAccept), so trimming keeps the promise.
/// - An index keeps the latest accept per instance (GroupCommitLog's InstanceIndex); reads see only durable records.
/// - Trimming (<see cref="Trim"/>) drops whole segments of <see cref="SegmentRecords"/> records as MemberHost.TrimAsync and
///   GroupCommitLog.ChooseTrim do: durable ones only, never the last, never from the latest checkpoint's segment on, never
///   one holding an accept at or above the floor cap, only while more than the retained budget remains; the floor becomes
///   the highest instance of a dropped segment + 1, and the trim record keeps the highest promise record.
/// - Recovery (ConsensusLog.Recover): the promise, the accepts from max(floor, checkpoint + 1 - retained) on, that accepted
///   floor, and the latest checkpoint; no values as known chosen.
/// The disk outlives the member's crashes; its bytes are copies.
/// </summary>
internal sealed class SimDisk : IConsensusLog
{
    public const int SegmentRecords = 8;

    private enum Kind : byte { Promise, Accept, Checkpoint }

    private sealed record DiskRecord(Kind Kind, long Lsn, long Instance, Ballot Ballot, byte[]? Bytes, Checkpoint? Checkpoint)
    {
        public bool Torn { get; init; }
    }

    private readonly List<DiskRecord> _durable = new();
    private readonly List<DiskRecord> _unsynced = new();
    /// <summary>Latest accept per instance at or above the floor, durable or not (the log's in-memory index).</summary>
    private readonly Dictionary<long, DiskRecord> _index = new();
    private long _nextLsn = 1;
    private long _durableLsn;
    private long _floor;
    private Ballot _trimPromise;
    /// <summary>Highest ballot of a promise record appended (or recovered): ConsensusLog's guard for accept ballots.</summary>
    private Ballot _promiseRecorded;

    /// <summary>Called after each append, so the owner can schedule a sync.</summary>
    public Action? Appended;

    public bool HasUnsynced => _unsynced.Count > 0;
    /// <summary>The member crashed in the middle of an event: what the rest of that event appends never reaches the disk.</summary>
    public bool Dead;
    /// <summary>The earliest instance the log still holds (0: nothing trimmed).</summary>
    public long Floor => _floor;
    public long TrimmedSegments { get; private set; }
    public long ChosenWritten { get; private set; }

    public long AppendPromise(Ballot ballot)
    {
        if (!Dead && ballot > _promiseRecorded) _promiseRecorded = ballot;
        return Add(new DiskRecord(Kind.Promise, _nextLsn, -1, ballot, null, null));
    }

    public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch)
    {
        if (ballot > _promiseRecorded) AppendPromise(ballot);
        return Add(new DiskRecord(Kind.Accept, _nextLsn, instance, ballot, batch.Span.ToArray(), null));
    }

    public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch)
    {
        if (instance < _floor) throw new InvalidOperationException($"chosen value for instance {instance} below the log's floor {_floor}");
        if (_index.TryGetValue(instance, out var held) && held.Ballot >= ballot) return _nextLsn - 1;
        if (!Dead) ChosenWritten++;
        return Add(new DiskRecord(Kind.Accept, _nextLsn, instance, ballot, batch.Span.ToArray(), null));
    }

    public long AppendCheckpoint(Checkpoint checkpoint) =>
        Add(new DiskRecord(Kind.Checkpoint, _nextLsn, checkpoint.Instance, default, null, checkpoint with { Producers = [.. checkpoint.Producers] }));

    public bool TryReadValue(long instance, out LogValue value)
    {
        value = default;
        if (instance < _floor || !_index.TryGetValue(instance, out var record) || record.Lsn > _durableLsn) return false;
        value = new LogValue(instance, record.Ballot, BatchBuffer.CopyOf(record.Bytes));
        return true;
    }

    private long Add(DiskRecord record)
    {
        if (Dead) return _nextLsn; // the dead incarnation gets an answer; nothing is stored
        _nextLsn++;
        _unsynced.Add(record);
        if (record.Kind == Kind.Accept && record.Instance >= _floor) _index[record.Instance] = record;
        Appended?.Invoke();
        return record.Lsn;
    }

    /// <summary>One fsync: everything appended so far becomes durable. Returns the highest durable LSN.</summary>
    public long Sync()
    {
        _durable.AddRange(_unsynced);
        _unsynced.Clear();
        _durableLsn = _nextLsn - 1;
        return _durableLsn;
    }

    public void Crash(Random random, bool tornWrites)
    {
        int kept = random.Next(_unsynced.Count + 1);
        _durable.AddRange(_unsynced.Take(kept));
        if (tornWrites && kept < _unsynced.Count && random.Next(2) == 0) _durable.Add(_unsynced[kept] with { Torn = true });
        _unsynced.Clear();
    }

    /// <summary>
    /// MemberHost.TrimAsync: the floor never goes above min(delivered, the acceptor's floor, the last checkpoint's next
    /// instance), and whole segments go only while more than <paramref name="retainRecords"/> records remain. Call with
    /// everything synced (the real trim record's sync makes everything before it durable too).
    /// </summary>
    public void Trim(long nextInstance, long acceptedFloor, int checkpointEvery, int retainRecords)
    {
        if (_unsynced.Count > 0) throw new InvalidOperationException("trim with unsynced records");
        long checkpointNext = nextInstance / checkpointEvery * checkpointEvery;
        long floorMax = Math.Min(Math.Min(nextInstance, acceptedFloor), checkpointNext);
        if (floorMax <= 0) return;
        int latestCheckpoint = _durable.FindLastIndex(r => r.Kind == Kind.Checkpoint);
        int keepSegment = latestCheckpoint < 0 ? int.MaxValue : latestCheckpoint / SegmentRecords;
        int segments = (_durable.Count + SegmentRecords - 1) / SegmentRecords;
        long floor = _floor;
        int doomed = 0;
        for (; doomed < segments - 1 && doomed < keepSegment; doomed++)
        {
            long maxInstance = -1;
            for (int k = doomed * SegmentRecords; k < (doomed + 1) * SegmentRecords; k++)
                if (_durable[k].Kind == Kind.Accept) maxInstance = Math.Max(maxInstance, _durable[k].Instance);
            if (maxInstance >= floorMax) break;
            if (_durable.Count - doomed * SegmentRecords <= retainRecords) break;
            if (maxInstance >= 0) floor = Math.Max(floor, maxInstance + 1);
        }
        if (doomed == 0) return;
        foreach (var r in _durable)
            if (r.Kind == Kind.Promise) _trimPromise = Ballot.Max(_trimPromise, r.Ballot);
        _durable.RemoveRange(0, doomed * SegmentRecords);
        TrimmedSegments += doomed;
        _floor = floor;
        foreach (long i in _index.Keys.Where(i => i < floor).ToList()) _index.Remove(i);
    }

    /// <summary>Recovery scan: drops a torn tail, then rebuilds what ConsensusLog.Recover hands the member.</summary>
    public RecoveredState Recover(long retainedInstances)
    {
        if (_durable.Count > 0 && _durable[^1].Torn) _durable.RemoveAt(_durable.Count - 1);
        if (_durable.Any(r => r.Torn)) throw new InvalidOperationException("torn record in the middle of the log");
        Ballot promised = _trimPromise;
        _index.Clear();
        Checkpoint? checkpoint = null;
        foreach (var r in _durable)
        {
            switch (r.Kind)
            {
                case Kind.Promise:
                    promised = Ballot.Max(promised, r.Ballot);
                    break;
                case Kind.Accept:
                    if (r.Instance >= _floor) _index[r.Instance] = r;
                    break;
                case Kind.Checkpoint:
                    checkpoint = r.Checkpoint;
                    break;
            }
        }
        _promiseRecorded = promised;
        _durableLsn = _nextLsn - 1;
        foreach (var r in _index.Values) promised = Ballot.Max(promised, r.Ballot);
        long keepFrom = checkpoint is null ? 0 : Math.Max(0, checkpoint.Instance + 1 - retainedInstances);
        return new RecoveredState
        {
            Promised = promised,
            Accepts = _index.Values.Where(r => r.Instance >= keepFrom).OrderBy(r => r.Instance).Select(ToValue).ToList(),
            Checkpoint = checkpoint,
            AcceptedFloor = Math.Max(_floor, keepFrom),
        };
    }

    private static LogValue ToValue(DiskRecord r) => new(r.Instance, r.Ballot, BatchBuffer.CopyOf(r.Bytes));
}
