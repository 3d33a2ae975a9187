using System.Buffers;
using System.Numerics;

namespace AtomicBcast.Wire;

/// <summary>
/// The arrays behind <see cref="BatchBuffer"/>. A member holds hundreds of batches at once (a full pipeline window,
/// the publisher runs in its intake, what its senders and its log still hold), far more than
/// <c>ArrayPool.Shared</c> keeps per size (a few dozen per core): every miss allocated a new large-object-heap array
/// and touched fresh pages, which cost the leader a third of its CPU in page faults at 300 K messages/s and pushed
/// its garbage collector into gen2 collections. This pool keeps every array it gets back, up to
/// <see cref="IdleBytesMax"/> of idle memory in all, so a steady stream of batches reuses the same arrays (measured: the
/// members' allocation fell from ~100 to ~10 bytes per message and their gen2 collections stopped).
///
/// Requirements:
/// - Small arrays (up to <see cref="SmallBytesMax"/>) go to <c>ArrayPool.Shared</c>, whose thread-local caches
///   suit them; larger ones come in power-of-two size classes up to <see cref="LargeBytesMax"/> (a whole frame).
/// - Arrays are not cleared: a batch buffer exposes only the bytes its creator wrote.
/// - Bounded: idle memory never exceeds <see cref="IdleBytesMax"/>; an array returned beyond it is left to the GC. In
///   steady state arrays come back about as fast as they go out, so little is idle at any time.
/// - Thread-safe (rented on connection threads, returned by the loop, senders and the log's flusher); a lock per size
///   class, taken once per batch, never per message.
/// </summary>
internal static class BatchArrayPool
{
    public const int SmallBytesMax = 4096;
    public static readonly int LargeBytesMax = (int)BitOperations.RoundUpToPowerOf2((uint)Limits.FrameBytesMax);
    public const long IdleBytesMax = 64L << 20;

    private const int FirstClassShift = 13;     // 8 KiB, the first size above SmallBytesMax
    private static readonly Stack<byte[]>[] s_classes = CreateClasses();
    private static long s_idleBytes;

    private static Stack<byte[]>[] CreateClasses()
    {
        var classes = new Stack<byte[]>[BitOperations.Log2((uint)LargeBytesMax) - FirstClassShift + 1];
        for (int i = 0; i < classes.Length; i++) classes[i] = new Stack<byte[]>();
        return classes;
    }

    /// <summary>Bytes held idle by the large size classes (for tests and diagnostics).</summary>
    public static long IdleBytes => Interlocked.Read(ref s_idleBytes);

    /// <summary>An array of at least <paramref name="length"/> bytes (1 to <see cref="LargeBytesMax"/>), contents undefined.</summary>
    public static byte[] Rent(int length)
    {
        if (length <= SmallBytesMax) return ArrayPool<byte>.Shared.Rent(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, LargeBytesMax);
        int shift = BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)length));
        // Its own class, else one twice as large: batch sizes wander between neighbouring classes, and an idle array
        // twice the size costs only memory that is already held, while a new one costs fresh pages and GC work.
        int first = shift - FirstClassShift;
        for (int k = first; k <= first + 1 && k < s_classes.Length; k++)
            if (TryPop(s_classes[k], out var array)) return array;
        return GC.AllocateUninitializedArray<byte>(1 << shift);
    }

    private static bool TryPop(Stack<byte[]> stack, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? array)
    {
        lock (stack)
            if (!stack.TryPop(out array)) return false;
        Interlocked.Add(ref s_idleBytes, -array.Length);
        return true;
    }

    /// <summary>Takes back an array from <see cref="Rent"/>. The caller must not touch it afterwards.</summary>
    public static void Return(byte[] array)
    {
        if (array.Length <= SmallBytesMax)
        {
            if (array.Length > 0) ArrayPool<byte>.Shared.Return(array);
            return;
        }
        if (!BitOperations.IsPow2(array.Length) || array.Length > LargeBytesMax) return; // not one of ours
        if (Interlocked.Add(ref s_idleBytes, array.Length) > IdleBytesMax)
        {
            Interlocked.Add(ref s_idleBytes, -array.Length);
            return;
        }
        var stack = s_classes[BitOperations.Log2((uint)array.Length) - FirstClassShift];
        lock (stack) stack.Push(array);
    }
}
