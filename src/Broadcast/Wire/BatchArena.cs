using System.Diagnostics;

namespace AtomicBcast.Wire;

/// <summary>
/// Memory for the batches a member keeps in order: carved one after another out of 1 MiB slabs, and a slab is used
/// again once every batch in it has been released.
///
/// Why: a member's delivery ring keeps hundreds of megabytes of batches for subscribers and lets them go in the order
/// they came. Size classes (<see cref="BatchArrayPool"/>) cannot follow that: the batches leaving the ring were sized
/// by the load of some seconds ago, the new ones by the load of now, so a fifth of them missed the pool at half rate
/// (97 % of a member's allocation in an allocation trace), lived for seconds and were copied by gen0 and gen1
/// collections (100-180 ms pauses). Batches of any size mix in a slab, so a slab comes back whatever the sizes.
///
/// Requirements:
/// - Only for batches released about in the order they were carved (<see cref="BatchBuffer.Rent(int, bool)"/> with
///   ordered: the consensus path's batches). One batch kept long keeps its whole slab, and every batch beside it,
///   from reuse: transient copies must take the size classes instead.
/// - Batches up to <see cref="CarveBytesMax"/> only; a larger one would waste most of a slab's tail.
/// - Each carved batch starts on a 64-byte boundary in memory, so two batches never share a cache line.
/// - A slab is reusable only when the arena has moved on from it and no batch in it is held: <see cref="Slab"/>
///   counts the arena's own hold as one.
/// - Bounded: at most <see cref="SlabsInUseMax"/> slabs are in use (current or holding batches); past that,
///   <see cref="TryCarve"/> says no and the batch takes the size classes, so no mix of lifetimes can pin memory without
///   bound. At most <see cref="IdleBytesMax"/> of empty slabs wait for reuse; beyond that they are left to the GC.
/// - Slabs are pinned (allocated on the pinned object heap): the GC never copies them.
/// - Thread-safe: batches are carved on connection threads and the loop (one short lock per batch, never per message)
///   and released from any thread.
/// </summary>
internal static class BatchArena
{
    public const int SlabBytes = 1 << 20;
    public const int CarveBytesMax = SlabBytes / 4;
    public const long IdleBytesMax = 64L << 20;
    private const int IdleSlabsMax = (int)(IdleBytesMax / SlabBytes);
    public const int Alignment = 64;

    private static readonly object s_gate = new();
    private static readonly Stack<Slab> s_idle = new();
    private static Slab? s_current;
    private static int s_slabsInUse;
    private static long s_slabsCreated;
    private static long s_refusedAtCap;

    /// <summary>
    /// Slabs in use at most: 1 GiB, four times a member's default delivery ring (an embedded cluster runs three
    /// members in one process). Settable for tests only.
    /// </summary>
    internal static int SlabsInUseMax { get; set; } = 1024;

    /// <summary>Slabs allocated since the process started (for tests and diagnostics).</summary>
    public static long SlabsCreated
    {
        get { lock (s_gate) return s_slabsCreated; }
    }

    /// <summary>Slabs current or holding batches (for tests and diagnostics).</summary>
    public static int SlabsInUse
    {
        get { lock (s_gate) return s_slabsInUse; }
    }

    /// <summary>
    /// Carves refused since the process started because <see cref="SlabsInUseMax"/> slabs were in use: each such batch
    /// took the size classes instead (for metrics, tests and diagnostics). Rising means some holder keeps slabs from reuse
    /// and the GC copies batches again.
    /// </summary>
    public static long RefusedAtCap
    {
        get { lock (s_gate) return s_refusedAtCap; }
    }

    /// <summary>Empty slabs waiting for reuse (for tests and diagnostics).</summary>
    public static int IdleSlabs
    {
        get { lock (s_gate) return s_idle.Count; }
    }

    /// <summary>
    /// Carves <paramref name="length"/> bytes (1 to <see cref="CarveBytesMax"/>) and takes a hold on their slab, which
    /// the caller gives back with <see cref="Release"/> exactly once; null when <see cref="SlabsInUseMax"/> slabs are
    /// in use and the current one is full (counted in <see cref="RefusedAtCap"/>).
    /// </summary>
    public static Slab? TryCarve(int length, out int offset)
    {
        Debug.Assert(length is > 0 and <= CarveBytesMax, "carve size");
        int size = (length + Alignment - 1) & -Alignment;
        Slab? sealedSlab = null;
        Slab slab;
        lock (s_gate)
        {
            if (s_current is { } current && current.Used + size <= current.End) slab = current;
            else
            {
                if (s_slabsInUse >= SlabsInUseMax)
                {
                    s_refusedAtCap++;
                    offset = 0;
                    return null;
                }
                sealedSlab = s_current;
                slab = NextSlab();
            }
            offset = slab.Used;
            slab.Used += size;
            Interlocked.Increment(ref slab.Holds);
        }
        if (sealedSlab is not null) Release(sealedSlab); // the arena's own hold: the slab's last batch may free it now
        return slab;
    }

    /// <summary>Gives back one hold from <see cref="TryCarve"/>. The caller must not touch the batch's bytes afterwards.</summary>
    public static void Release(Slab slab)
    {
        int after = Interlocked.Decrement(ref slab.Holds);
        Debug.Assert(after >= 0, "slab released more often than carved");
        if (after != 0) return;
        slab.Used = slab.Start;
        lock (s_gate)
        {
            s_slabsInUse--;
            if (s_idle.Count < IdleSlabsMax) s_idle.Push(slab);
        }
    }

    // Under s_gate: an idle slab or a new one, made current with the arena's own hold.
    private static Slab NextSlab()
    {
        if (!s_idle.TryPop(out var slab))
        {
            slab = new Slab();
            s_slabsCreated++;
        }
        Debug.Assert(slab.Holds == 0 && slab.Used == slab.Start, "idle slab still held");
        slab.Holds = 1;
        s_slabsInUse++;
        s_current = slab;
        return slab;
    }

    /// <summary>One slab: its bytes, how far it is carved, and how many holds keep it (batches, plus the arena's own
    /// while it is current).</summary>
    public sealed class Slab
    {
        // SlabBytes from the first offset on a 64-byte boundary (the array is pinned: its address never moves), so that
        // four batches of CarveBytesMax fit.
        public readonly byte[] Bytes = GC.AllocateUninitializedArray<byte>(SlabBytes + Alignment, pinned: true);
        internal readonly int Start;
        internal readonly int End;
        internal int Used;
        internal int Holds;

        public Slab()
        {
            unsafe
            {
                fixed (byte* first = Bytes) Start = (int)((Alignment - (nuint)first % Alignment) % Alignment);
            }
            End = Start + SlabBytes;
            Used = Start;
        }
    }
}
