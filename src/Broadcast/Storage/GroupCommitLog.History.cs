using System.Diagnostics;
using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

// Reads for serving the delivered stream from the log (the node's subscriber history): every checkpoint the retained
// segments hold, and per instance the accept with the highest ballot (not only the latest appended).
public sealed partial class GroupCommitLog
{
    // Guarded by _gate. Checkpoints in log order, instances strictly increasing: a member rewrites the checkpoints after
    // its last one when it redelivers after a restart, and those replace the entries they repeat.
    private readonly List<CheckpointMark> _checkpoints = [];
    // Guarded by _gate. Instances whose latest accept carries a lower ballot than an earlier one (a late Accept of an old
    // ballot after the learner logged the chosen value at a higher one): the earlier, higher one. Rare; trimmed with the floor.
    private readonly Dictionary<ulong, (ulong Address, ulong Ballot)> _outranked = [];

    /// <summary>
    /// Reads the accept with the highest ballot the log holds for <paramref name="instance"/> into a pooled buffer the
    /// caller releases. <see cref="LogTrimmedException"/> when the instance is below the trim floor or its segment is
    /// deleted while it is read; <see cref="LogCorruptException"/> when the record fails its checks.
    /// </summary>
    public AcceptRead TryReadHighestAccept(ulong instance, out Ballot ballot, out BatchBuffer? batch, out LogAddress address)
    {
        batch = null;
        ulong at, value;
        lock (_gate)
        {
            if (instance < _floor) ThrowTrimmed(instance);
            if (_outranked.TryGetValue(instance, out var top)) (at, value) = top;
            else if (!_index.TryGet(instance, out at, out value))
            {
                (ballot, address) = (default, default);
                return AcceptRead.None;
            }
        }
        (ballot, address) = (new Ballot(value), new LogAddress(at));
        if (address >= DurableUntil) return AcceptRead.NotDurable;
        batch = ReadAcceptBatch(address, instance);
        return AcceptRead.Found;
    }

    /// <summary>The latest durable checkpoint whose next position is at or below <paramref name="position"/>.</summary>
    public bool TryFindCheckpointAtOrBelow(ulong position, out CheckpointMark mark)
    {
        ulong durable = Volatile.Read(ref _durableUntil);
        lock (_gate)
        {
            for (int i = _checkpoints.Count - 1; i >= 0; i--)
            {
                var candidate = _checkpoints[i];
                if (candidate.NextPosition > position || candidate.Address.Value >= durable) continue;
                mark = candidate;
                return true;
            }
        }
        mark = default;
        return false;
    }

    /// <summary>The first checkpoint (durable or not) of an instance at or above <paramref name="instance"/>.</summary>
    public bool TryFindCheckpointFrom(ulong instance, out CheckpointMark mark)
    {
        lock (_gate)
        {
            int low = 0, high = _checkpoints.Count;
            while (low < high)
            {
                int middle = low + (high - low) / 2;
                if (_checkpoints[middle].Instance >= instance) high = middle;
                else low = middle + 1;
            }
            mark = low < _checkpoints.Count ? _checkpoints[low] : default;
            return low < _checkpoints.Count;
        }
    }

    /// <summary>The earliest durable checkpoint from which the log still holds every later accept (its next instance is
    /// not below the trim floor).</summary>
    public bool TryFindEarliestUsableCheckpoint(out CheckpointMark mark)
    {
        ulong durable = Volatile.Read(ref _durableUntil);
        lock (_gate)
            foreach (var candidate in _checkpoints)
                if (candidate.Instance + 1 >= _floor && candidate.Address.Value < durable)
                {
                    mark = candidate;
                    return true;
                }
        mark = default;
        return false;
    }

    /// <summary>The producer table of a checkpoint record (opaque bytes, as appended), CRC checked.
    /// <see cref="LogTrimmedException"/> when its segment was deleted.</summary>
    public byte[] ReadCheckpointTable(CheckpointMark mark)
    {
        if (mark.Address >= DurableUntil) throw new ArgumentOutOfRangeException(nameof(mark), "checkpoint not durable yet");
        Span<byte> head = stackalloc byte[LogFormat.CheckpointFixedLength];
        var file = ReadHead(mark.Address.Value, mark.Instance, head, RecordType.Checkpoint, out int length);
        var table = new byte[length - LogFormat.CheckpointFixedLength];
        ReadBody(file, mark.Address.Value, mark.Instance, head, table);
        if (LogFormat.ReadU64(head, 0) != mark.Instance || LogFormat.ReadU64(head, 8) != mark.NextPosition)
            ThrowCorruptRead(mark.Address.Value, mark.Instance, "checkpoint record does not match the index");
        return table;
    }

    /// <summary>Reads the accept record at <paramref name="address"/> (durable) into a pooled buffer.</summary>
    private BatchBuffer ReadAcceptBatch(LogAddress address, ulong instance)
    {
        Span<byte> head = stackalloc byte[LogFormat.AcceptFixedLength];
        var file = ReadHead(address.Value, instance, head, RecordType.Accept, out int length);
        if (LogFormat.ReadU64(head, 0) != instance) ThrowCorruptRead(address.Value, instance, "accept record of another instance");
        var buffer = BatchBuffer.Rent(length - LogFormat.AcceptFixedLength);
        try
        {
            ReadBody(file, address.Value, instance, head, buffer.WritableSpan);
        }
        catch
        {
            buffer.Release();
            throw;
        }
        return buffer;
    }

    /// <summary>Under the lock, before the index takes the accept: remembers a higher ballot it is about to hide.</summary>
    private void NoteOutranked(ulong instance, ulong ballot)
    {
        Debug.Assert(Monitor.IsEntered(_gate));
        if (_outranked.Count > 0 && _outranked.TryGetValue(instance, out var top))
        {
            if (ballot >= top.Ballot) _outranked.Remove(instance);
        }
        else if (_index.TryGet(instance, out ulong at, out ulong held) && held > ballot) _outranked[instance] = (at, held);
    }

    private void NoteCheckpoint(ulong instance, ulong nextPosition, ulong address)
    {
        Debug.Assert(Monitor.IsEntered(_gate));
        int keep = _checkpoints.Count;
        while (keep > 0 && _checkpoints[keep - 1].Instance >= instance) keep--;
        if (keep < _checkpoints.Count) _checkpoints.RemoveRange(keep, _checkpoints.Count - keep);
        _checkpoints.Add(new CheckpointMark(instance, nextPosition, new LogAddress(address)));
    }

    /// <summary>Under the lock: the segments before <paramref name="address"/> are gone, and instances below <paramref name="floor"/>.</summary>
    private void ForgetHistoryBefore(ulong address, ulong floor)
    {
        Debug.Assert(Monitor.IsEntered(_gate));
        int gone = 0;
        while (gone < _checkpoints.Count && _checkpoints[gone].Address.Value < address) gone++;
        if (gone > 0) _checkpoints.RemoveRange(0, gone);
        if (_outranked.Count == 0) return;
        foreach (var instance in _outranked.Keys.Where(i => i < floor).ToList()) _outranked.Remove(instance);
    }
}
