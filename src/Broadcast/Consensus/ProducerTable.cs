using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>Outcome of one run under the exactly-once rule.</summary>
internal enum RunOutcome : byte
{
    Delivered,
    Duplicate,
    OutOfSequence,
}

/// <summary>
/// The exactly-once table: per producer id, the last delivered seq. Replicated state: every learner applies the
/// same runs in the same order, so every learner holds the same table; it is saved with each checkpoint and
/// expires idle producers by instance number, never by clock. Producer id 0 (anonymous) never enters it.
/// A producer the table does not know starts at seq 1.
/// </summary>
internal sealed class ProducerTable
{
    private struct Entry
    {
        public ulong LastSeq;
        public long LastInstance;
    }

    private readonly Dictionary<ulong, Entry> _entries = new();

    public int Count => _entries.Count;

    public RunOutcome Apply(in RunHeader run, long instance, out ulong expectedSeq)
    {
        if (run.ProducerId == 0)
        {
            expectedSeq = 0;
            return RunOutcome.Delivered;
        }
        _entries.TryGetValue(run.ProducerId, out var entry);
        expectedSeq = entry.LastSeq + 1;
        if (run.FirstSeq == expectedSeq)
        {
            _entries[run.ProducerId] = new Entry { LastSeq = run.LastSeq, LastInstance = instance };
            expectedSeq = run.LastSeq + 1;
            return RunOutcome.Delivered;
        }
        return run.LastSeq <= entry.LastSeq ? RunOutcome.Duplicate : RunOutcome.OutOfSequence;
    }

    /// <summary>Drops producers whose last delivery is more than <paramref name="idleInstancesMax"/> instances old.</summary>
    public void Expire(long instance, long idleInstancesMax)
    {
        if (_entries.Count == 0) return;
        List<ulong>? expired = null;
        foreach (var (id, entry) in _entries)
            if (instance - entry.LastInstance > idleInstancesMax) (expired ??= []).Add(id);
        if (expired is null) return;
        foreach (var id in expired) _entries.Remove(id);
    }

    public ProducerEntry[] Snapshot()
    {
        var result = new ProducerEntry[_entries.Count];
        int i = 0;
        foreach (var (id, entry) in _entries) result[i++] = new ProducerEntry(id, entry.LastSeq, entry.LastInstance);
        Array.Sort(result, static (a, b) => a.ProducerId.CompareTo(b.ProducerId));
        return result;
    }

    public void Restore(ProducerEntry[] entries)
    {
        _entries.Clear();
        foreach (var e in entries) _entries[e.ProducerId] = new Entry { LastSeq = e.LastSeq, LastInstance = e.LastInstance };
    }
}
