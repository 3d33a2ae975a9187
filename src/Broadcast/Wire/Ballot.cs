using System.Diagnostics;

namespace AtomicBcast.Wire;

/// <summary>
/// A Paxos ballot: <c>round &lt;&lt; 16 | nodeId</c>, compared as one unsigned 64-bit number, so a higher
/// round always wins and equal rounds are ordered by node id. <see cref="Zero"/> is below every real ballot.
/// </summary>
public readonly record struct Ballot(ulong Value) : IComparable<Ballot>
{
    public static readonly Ballot Zero = default;

    public static Ballot Create(ulong round, ushort nodeId)
    {
        Debug.Assert(round < (1UL << 48));
        return new Ballot(round << 16 | nodeId);
    }

    public ulong Round => Value >> 16;
    public ushort NodeId => (ushort)Value;
    public bool IsZero => Value == 0;

    public int CompareTo(Ballot other) => Value.CompareTo(other.Value);
    public static bool operator <(Ballot a, Ballot b) => a.Value < b.Value;
    public static bool operator >(Ballot a, Ballot b) => a.Value > b.Value;
    public static bool operator <=(Ballot a, Ballot b) => a.Value <= b.Value;
    public static bool operator >=(Ballot a, Ballot b) => a.Value >= b.Value;
    public static Ballot Max(Ballot a, Ballot b) => a.Value >= b.Value ? a : b;

    public override string ToString() => $"{Round}.{NodeId}";
}
