using System.Buffers;
using System.Diagnostics;

namespace AtomicBcast.Client;

/// <summary>
/// A pooled block holding many messages already encoded as they go on the wire (varint length | payload), back to
/// back in intake order, so that a run is one contiguous slice and sending it is one copy.
/// <para>Reference counted: the intake holds one reference while the chunk is current or still holds messages not yet
/// formed into runs (<see cref="Unformed"/>), and every run formed from it holds one until it is acknowledged or failed.
/// The last release returns the array to the pool.</para>
/// </summary>
internal sealed class PayloadChunk
{
    private byte[]? _buffer;
    private int _refs = 1;

    public PayloadChunk(int bytes) => _buffer = ArrayPool<byte>.Shared.Rent(bytes);

    /// <summary>The pooled bytes; only valid while a reference is held.</summary>
    public byte[] Buffer
    {
        get
        {
            Debug.Assert(_buffer is not null, "a released chunk was used");
            return _buffer;
        }
    }

    // The next three are guarded by the intake's lock (PublishQueue).
    public int Written;
    public int Unformed;
    public bool Sealed;

    /// <summary>True when only the intake holds the chunk: no run references it (only the intake can add one).</summary>
    public bool OnlyIntakeHolds => Volatile.Read(ref _refs) == 1;

    public void Retain()
    {
        int refs = Interlocked.Increment(ref _refs);
        Debug.Assert(refs > 1, "retained a released chunk");
    }

    public void Release()
    {
        int refs = Interlocked.Decrement(ref _refs);
        Debug.Assert(refs >= 0, "chunk released more often than retained");
        if (refs != 0) return;
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
    }
}
