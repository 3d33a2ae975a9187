using System.Diagnostics;

namespace AtomicBcast.Storage;

/// <summary>
/// instance -> (address, ballot) of the latest accept, for the live window of instances. Instances are dense (the
/// leader numbers them one by one), so this is a power-of-two ring indexed by <c>instance &amp; mask</c>, sized at
/// start-up and doubled only when the live window outgrows it: steady-state appends under retention allocate
/// nothing. Not thread-safe; the log locks.
/// </summary>
internal sealed class InstanceIndex
{
    /// <summary>The widest window of live instances the index will hold (16 Mi entries = 384 MiB).</summary>
    public const long WindowMax = 1 << 24;

    private Entry[] _entries;
    private ulong _low = ulong.MaxValue;  // smallest live instance, or MaxValue when empty
    private ulong _high;                  // largest live instance

    private struct Entry
    {
        public ulong InstancePlusOne; // 0 = empty slot
        public ulong Address;
        public ulong Ballot;
    }

    public InstanceIndex(int capacity)
    {
        Debug.Assert(capacity > 0 && (capacity & (capacity - 1)) == 0);
        _entries = new Entry[capacity];
    }

    public bool IsEmpty => _low == ulong.MaxValue;
    public ulong HighestInstance => _high;

    public void Set(ulong instance, ulong address, ulong ballot)
    {
        if (IsEmpty) { _low = instance; _high = instance; }
        ulong low = Math.Min(_low, instance), high = Math.Max(_high, instance);
        if (high - low >= (ulong)_entries.Length) Grow(high - low + 1);
        _low = low;
        _high = high;
        ref var entry = ref _entries[(int)(instance & (ulong)(_entries.Length - 1))];
        entry.InstancePlusOne = instance + 1;
        entry.Address = address;
        entry.Ballot = ballot;
    }

    public bool TryGet(ulong instance, out ulong address, out ulong ballot)
    {
        ref var entry = ref _entries[(int)(instance & (ulong)(_entries.Length - 1))];
        bool found = entry.InstancePlusOne == instance + 1 && instance >= _low && instance <= _high;
        address = found ? entry.Address : 0;
        ballot = found ? entry.Ballot : 0;
        return found;
    }

    /// <summary>Forgets every instance below <paramref name="floor"/>.</summary>
    public void RemoveBelow(ulong floor)
    {
        if (IsEmpty || floor <= _low) return;
        if (floor > _high)
        {
            Array.Clear(_entries);
            _low = ulong.MaxValue;
            _high = 0;
            return;
        }
        for (ulong instance = _low; instance < floor; instance++)
            _entries[(int)(instance & (ulong)(_entries.Length - 1))] = default;
        _low = floor;
    }

    private void Grow(ulong window)
    {
        if (window > WindowMax)
            throw new InvalidOperationException($"the log's live instances span {window} instances, more than the index holds ({WindowMax}); trim the log");
        int capacity = _entries.Length;
        while ((ulong)capacity < window) capacity *= 2;
        var entries = new Entry[capacity];
        foreach (var entry in _entries)
            if (entry.InstancePlusOne != 0)
                entries[(int)((entry.InstancePlusOne - 1) & (ulong)(capacity - 1))] = entry;
        _entries = entries;
    }
}
