using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace AtomicBcast.Transport.Tcp;

/// <summary>
/// One reusable send operation (Kestrel's SocketSender): a multi-segment sequence goes out as one gathered send
/// (sendmsg with an iovec per segment), so a burst of frames costs one syscall. Awaiting it allocates nothing.
/// One send takes at most <see cref="GatherSegmentsMax"/> segments: on Unix the runtime builds its iovec and pin
/// arrays on the stack up to 8 buffers and allocates them above that (measured: 30 B per 64 KiB frame).
/// Pooled per transport: a connection rents one for its life and returns it when its loops have stopped.
/// </summary>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource<int>
{
    private readonly List<ArraySegment<byte>> _segments = new();
    // Completions arrive on a thread-pool thread already (the socket engine dispatches them), so the send loop
    // continues right there instead of paying a second queue hop and a work-item allocation.
    private ManualResetValueTaskSourceCore<int> _source = new() { RunContinuationsAsynchronously = false };

    public SocketSender() : base(unsafeSuppressExecutionContextFlow: true) { }

    public const int GatherSegmentsMax = 8;

    /// <summary>Sends a prefix of <paramref name="buffer"/> of at most <see cref="GatherSegmentsMax"/> segments;
    /// <paramref name="bytes"/> says how long it is. The caller sends the rest next.</summary>
    public ValueTask<int> SendAsync(Socket socket, in ReadOnlySequence<byte> buffer, out long bytes)
    {
        if (buffer.IsSingleSegment)
        {
            UseBuffer(buffer.First);
            bytes = buffer.Length;
        }
        else
        {
            bytes = UseBufferList(buffer);
        }
        _source.Reset();
        if (socket.SendAsync(this)) return new ValueTask<int>(this, _source.Version);
        // Completed at once (the usual case while the kernel buffer has room).
        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    /// <summary>Drops references to the sent buffers so a pooled sender keeps no block alive.</summary>
    public void Clear()
    {
        if (BufferList != null) BufferList = null;
        else SetBuffer(null, 0, 0);
        _segments.Clear();
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success) _source.SetResult(BytesTransferred);
        else _source.SetException(new SocketException((int)SocketError));
    }

    private void UseBuffer(ReadOnlyMemory<byte> memory)
    {
        if (BufferList != null) BufferList = null;
        SetBuffer(MemoryMarshal.AsMemory(memory));
    }

    private long UseBufferList(in ReadOnlySequence<byte> buffer)
    {
        Debug.Assert(!buffer.IsSingleSegment);
        if (Buffer != null || MemoryBuffer.Length != 0) SetBuffer(null, 0, 0);
        _segments.Clear();
        long bytes = 0;
        foreach (var memory in buffer)
        {
            if (memory.IsEmpty) continue;
            // Our pools hand out arrays (blocks or ArrayPool); anything else is a bug in how the pipe was built.
            if (!MemoryMarshal.TryGetArray(memory, out var segment)) throw new InvalidOperationException("pipe memory is not array-backed");
            _segments.Add(segment);
            bytes += segment.Count;
            if (_segments.Count == GatherSegmentsMax) break;
        }
        BufferList = _segments;
        return bytes;
    }

    int IValueTaskSource<int>.GetResult(short token) => _source.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _source.GetStatus(token);
    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _source.OnCompleted(continuation, state, token, flags);
}
