using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>Connections and pipe writers for driving <see cref="AtomicBcast.Node.OutboundQueue.DrainAsync"/> directly.</summary>
internal static class OutboundQueueTestKit
{
    /// <summary>An accept for <paramref name="instance"/> carrying <paramref name="batch"/> (the queue retains it).</summary>
    public static object Accept(long instance, BatchBuffer batch) => new AcceptMessage(Ballot.Create(1, 1), instance, -1, batch);

    /// <summary>The instances of the accepts written to <paramref name="writer"/>, in order (their copied batches released);
    /// once the drain is done, so nothing is left after the last whole frame.</summary>
    public static List<long> WrittenInstances(RecordingWriter writer)
    {
        var instances = ReadWholeFrames(writer, out long rest);
        Assert.Equal(0, rest);
        return instances;
    }

    /// <summary>How many whole accepts <paramref name="writer"/> holds now, while the drain may be writing the next frame
    /// (a frame's header and batch are advanced separately).</summary>
    public static int WholeFramesWritten(RecordingWriter writer) => ReadWholeFrames(writer, out _).Count;

    private static List<long> ReadWholeFrames(RecordingWriter writer, out long rest)
    {
        var buffer = new ReadOnlySequence<byte>(writer.Written);
        var instances = new List<long>();
        while (FrameCodec.TryReadFrame(ref buffer, out var frame))
        {
            var accept = Assert.IsType<AcceptMessage>(MessageReader.ReadOwned(frame));
            instances.Add(accept.Instance);
            accept.Batch.Release();
        }
        rest = buffer.Length;
        return instances;
    }
}

/// <summary>Only the output matters to <see cref="AtomicBcast.Node.OutboundQueue.DrainAsync"/>.</summary>
internal sealed class PipeConnection(PipeWriter output) : IConnection
{
    public PipeReader Input => throw new NotSupportedException();
    public PipeWriter Output => output;
    public HelloMessage RemoteHello => default;
    public EndPoint? RemoteEndPoint => null;
    public ClientCredential? Credential => null;
    public Task<ShutdownReason> Closed => new TaskCompletionSource<ShutdownReason>().Task;
    public long BytesReceived => 0;
    public long BytesSent => 0;
    public Task CloseAsync() => Task.CompletedTask;
    public void Abort(ShutdownReason reason) { }
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Keeps every byte written; a flush completes at once unless <see cref="FlushGate"/> holds it. The test thread may read
/// <see cref="Written"/> while the drain writes: a copy of the bytes advanced so far (the last frame may be partial).
/// </summary>
internal sealed class RecordingWriter : PipeWriter
{
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _bytes = new();

    public int Flushes;

    /// <summary>When set, the next flushes wait for it (and return its result).</summary>
    public TaskCompletionSource<FlushResult>? FlushGate;

    public ReadOnlyMemory<byte> Written
    {
        get { lock (_lock) return _bytes.WrittenMemory.ToArray(); }
    }

    public override void Advance(int bytes)
    {
        lock (_lock) _bytes.Advance(bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        lock (_lock) return _bytes.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        lock (_lock) return _bytes.GetSpan(sizeHint);
    }

    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Flushes);
        return FlushGate is { } gate ? new ValueTask<FlushResult>(gate.Task) : default;
    }
}

/// <summary>Forgets what is written (one fixed buffer, reused) and counts flushes; allocates nothing.</summary>
internal sealed class DiscardingWriter : PipeWriter
{
    private readonly byte[] _buffer = new byte[64 << 10];

    public long Flushes;

    public override void Advance(int bytes)
    {
        // Not Assert.InRange: it allocates a comparer per call.
        if ((uint)bytes > (uint)_buffer.Length) throw new ArgumentOutOfRangeException(nameof(bytes));
    }
    public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;
    public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;
    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Flushes);
        return default;
    }
}
