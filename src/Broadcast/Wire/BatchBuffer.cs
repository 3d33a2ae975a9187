using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace AtomicBcast.Wire;

/// <summary>
/// The bytes of one encoded batch (header + runs, exactly as stored and sent), copied once into pooled memory
/// and then shared: the same buffer goes to every peer's pipe and to the log.
///
/// Requirements:
/// - Reference counted. <see cref="Rent"/> returns a buffer with one reference; every holder that keeps it
///   beyond the call that handed it over calls <see cref="Retain"/>, and every holder calls <see cref="Release"/>
///   exactly once per reference. The last release returns the array to the pool.
/// - Immutable once published: write through <see cref="WritableSpan"/> only before handing it to anyone.
/// - Thread-safe counting: the node's loop, senders and the log's flusher may release concurrently.
/// - Pooled twice: the bytes go back to where they came from and the object itself to an object pool, so a steady
///   stream of batches allocates nothing. A holder must never touch a buffer after its own last Release: the
///   object may already carry another batch.
/// - Where the bytes come from: an array of its size class from <see cref="BatchArrayPool"/>, unless the creator says
///   the batch is ordered (released about when the batches made before it are: the consensus path's batches, which
///   the delivery ring lets go in order); an ordered batch up to <see cref="BatchArena.CarveBytesMax"/> is carved from
///   a slab of <see cref="BatchArena"/>, which size classes cannot follow when batch sizes drift with the load.
/// </summary>
public sealed class BatchBuffer
{
    // Enough idle objects for every instance of a full window plus what senders and the log still hold.
    private const int PooledObjectsMax = 8192;
    private static readonly ObjectPool<BatchBuffer> s_pool = new BoundedObjectPool<BatchBuffer>(new PoolPolicy(), PooledObjectsMax);

    private byte[] _array = [];
    private int _offset;
    private int _length;
    private int _references;
    private BatchArena.Slab? _slab; // null: _array is the batch's own, from BatchArrayPool

    private BatchBuffer() { }

    private sealed class PoolPolicy : IPooledObjectPolicy<BatchBuffer>
    {
        public BatchBuffer Create() => new();
        public bool Return(BatchBuffer buffer) => buffer._references == 0;
    }

    /// <summary>
    /// A buffer of exactly <paramref name="length"/> bytes, holding one reference. <paramref name="ordered"/>: it will be
    /// released about when the buffers rented before it are (see the class comment); a buffer kept long must not be.
    /// </summary>
    public static BatchBuffer Rent(int length, bool ordered = false)
    {
        if ((uint)length > Limits.FrameBytesMax)
            throw new ArgumentOutOfRangeException(nameof(length), length, "batch larger than Limits.FrameBytesMax");
        var buffer = s_pool.Get();
        Debug.Assert(buffer._references == 0 && buffer._array.Length == 0, "pooled buffer still in use");
        int bytes = Math.Max(length, 1);
        if (ordered && bytes <= BatchArena.CarveBytesMax && BatchArena.TryCarve(bytes, out buffer._offset) is { } slab)
        {
            buffer._slab = slab;
            buffer._array = slab.Bytes;
        }
        else buffer._array = BatchArrayPool.Rent(bytes); // an ordered batch refused at the arena's cap is counted there
        buffer._length = length;
        buffer._references = 1;
        return buffer;
    }

    /// <summary>A buffer holding a copy of <paramref name="bytes"/>, with one reference; <paramref name="ordered"/> as for
    /// <see cref="Rent"/>.</summary>
    public static BatchBuffer CopyOf(ReadOnlySequence<byte> bytes, bool ordered = false)
    {
        var buffer = Rent(checked((int)bytes.Length), ordered);
        bytes.CopyTo(buffer.WritableSpan);
        return buffer;
    }

    /// <summary>A buffer holding a copy of <paramref name="bytes"/>, with one reference.</summary>
    public static BatchBuffer CopyOf(ReadOnlySpan<byte> bytes)
    {
        var buffer = Rent(bytes.Length);
        bytes.CopyTo(buffer.WritableSpan);
        return buffer;
    }

    /// <summary>Whether the bytes were carved from <see cref="BatchArena"/> (for tests).</summary>
    internal bool IsCarved => _slab is not null;

    public int Length => _length;
    public ReadOnlyMemory<byte> Memory => new(_array, _offset, _length);
    public ReadOnlySpan<byte> Span => new(_array, _offset, _length);

    /// <summary>Only for the creator, before the buffer is shared.</summary>
    public Span<byte> WritableSpan => new(_array, _offset, _length);

    public int References => Volatile.Read(ref _references);

    public BatchBuffer Retain()
    {
        int after = Interlocked.Increment(ref _references);
        Debug.Assert(after > 1, "retain after the last release");
        return this;
    }

    public void Release()
    {
        int after = Interlocked.Decrement(ref _references);
        Debug.Assert(after >= 0, "released more often than retained");
        if (after == 0)
        {
            var array = _array;
            var slab = _slab;
            _array = [];
            _slab = null;
            _offset = 0;
            _length = 0;
            if (slab is not null) BatchArena.Release(slab);
            else BatchArrayPool.Return(array);
            s_pool.Return(this);
        }
    }
}
