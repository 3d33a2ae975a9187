using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Tasks.Sources;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>Connections and pipe writers for driving <see cref="AtomicBcast.Node.OutboundQueue.DrainAsync"/> directly.</summary>
internal static class OutboundQueueTestKit
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30); // failure guard only

    /// <summary>Polls until <paramref name="condition"/> holds (a failure guard bounds it, not a timing assertion).</summary>
    public static async Task WaitUntil(Func<bool> condition)
    {
        var giveUp = DateTime.UtcNow + Guard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < giveUp, "condition not reached");
            await Task.Delay(1);
        }
    }

    /// <summary>An accept for <paramref name="instance"/> carrying <paramref name="batch"/> (the queue retains it).</summary>
    public static Envelope Accept(long instance, BatchBuffer batch) => new AcceptMessage(Ballot.Create(1, 1), instance, -1, batch);

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

    private static List<long> ReadWholeFrames(RecordingWriter writer, out long rest) => ReadWholeFrames(writer.Written, out rest);

    /// <summary>The instances of the accepts in <paramref name="written"/>; <paramref name="rest"/>: bytes after the last
    /// whole frame.</summary>
    public static List<long> ReadWholeFrames(ReadOnlyMemory<byte> written, out long rest)
    {
        var buffer = new ReadOnlySequence<byte>(written);
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
/// Keeps every byte written; a flush completes at once unless <see cref="FlushGate"/> holds it (until the gate opens or
/// the flush's token is cancelled). The test thread may read
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
        // As a pipe's flush: a held flush ends when the flusher's token is cancelled.
        return FlushGate is { } gate ? new ValueTask<FlushResult>(gate.Task.WaitAsync(cancellationToken)) : default;
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

/// <summary>Fails every write, as a writer of a connection torn down under it does.</summary>
internal sealed class FailingWriter : PipeWriter
{
    public const string Why = "the connection's writer is gone";

    public override void Advance(int bytes) => throw new InvalidOperationException(Why);
    public override Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException(Why);
    public override Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException(Why);
    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => default;
}

/// <summary>Holds the first write until <see cref="Release"/> is set (<see cref="Writing"/> says it started); counts
/// flushes.</summary>
internal sealed class StallingWriter : PipeWriter
{
    private readonly byte[] _buffer = new byte[64 << 10];
    private int _writes;

    public readonly ManualResetEventSlim Writing = new();
    public readonly ManualResetEventSlim Release = new();
    public int Flushes;

    public override void Advance(int bytes) { }
    public override Memory<byte> GetMemory(int sizeHint = 0) => Hold();
    public override Span<byte> GetSpan(int sizeHint = 0) => Hold().Span;
    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Flushes);
        return default;
    }

    private Memory<byte> Hold()
    {
        if (Interlocked.Increment(ref _writes) == 1)
        {
            Writing.Set();
            Release.Wait();
        }
        return _buffer;
    }
}

/// <summary>
/// Keeps what is written and checks that two writers take turns: every write between two flushes comes from one thread,
/// and nothing is written or flushed while a flush is held back. Every <c>holdEveryNthFlush</c>-th flush completes later,
/// on the thread pool, as a flush to a peer that pushes back does.
/// </summary>
internal sealed class TurnCheckingWriter(int holdEveryNthFlush) : PipeWriter
{
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _bytes = new();
    private int _writerSinceFlush;   // the thread writing since the last flush; 0: none
    private bool _flushHeld;
    private int _flushes;

    /// <summary>The thread that pumps: flushes from it count as the pump's, all others as the drain's.</summary>
    public int PumpThread;
    public int PumpFlushes;
    public int DrainFlushes;
    public int HeldFlushes;
    public int Overlaps;

    public List<long> Instances()
    {
        lock (_lock)
        {
            var instances = OutboundQueueTestKit.ReadWholeFrames(_bytes.WrittenMemory.ToArray(), out long rest);
            Assert.Equal(0, rest);
            return instances;
        }
    }

    public override void Advance(int bytes)
    {
        lock (_lock)
        {
            CheckTurn();
            _bytes.Advance(bytes);
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        lock (_lock)
        {
            CheckTurn();
            return _bytes.GetMemory(sizeHint);
        }
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            CheckTurn();
            _writerSinceFlush = 0;
            if (Environment.CurrentManagedThreadId == PumpThread) PumpFlushes++;
            else DrainFlushes++;
            if (++_flushes % holdEveryNthFlush != 0) return default;
            _flushHeld = true;
            HeldFlushes++;
        }
        return new ValueTask<FlushResult>(CompleteHeldFlushAsync());
    }

    private async Task<FlushResult> CompleteHeldFlushAsync()
    {
        await Task.Yield();
        lock (_lock) _flushHeld = false;
        return default;
    }

    private void CheckTurn()
    {
        int thread = Environment.CurrentManagedThreadId;
        if (_flushHeld || (_writerSinceFlush != 0 && _writerSinceFlush != thread)) Overlaps++;
        _writerSinceFlush = thread;
    }
}

/// <summary>
/// Holds every flush for good, as a peer that never reads again does: a flush ends only when its token is cancelled.
/// <see cref="Awaited"/> says someone awaits the held flush (its continuation is registered).
/// </summary>
internal sealed class NeverFlushingWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    private readonly byte[] _buffer = new byte[64 << 10];
    private ManualResetValueTaskSourceCore<FlushResult> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _onCancel;

    public readonly ManualResetEventSlim Awaited = new();
    public int Flushes;

    public override void Advance(int bytes) { }
    public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;
    public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;
    public override void CancelPendingFlush() { }
    public override void Complete(Exception? exception = null) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Assert.Equal(1, Interlocked.Increment(ref Flushes)); // one flush only: it never ends
        _onCancel = cancellationToken.Register(() => _core.SetException(new OperationCanceledException(cancellationToken)));
        return new ValueTask<FlushResult>(this, _core.Version);
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) =>
        _core.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags)
    {
        _core.OnCompleted(continuation, state, token, flags);
        Awaited.Set();
    }
}
