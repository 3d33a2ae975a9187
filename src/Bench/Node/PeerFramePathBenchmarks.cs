using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Transport;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Node;

/// <summary>
/// A member's per-frame work around the core, without sockets, reported per frame: read each frame of a burst as a
/// peer's would be read (its batch copied into the arena, in order), queue an answer to an <see cref="OutboundQueue"/>
/// for the loop's pump, and release the frame; then one pump writes the answers to a connection that discards them. The
/// burst is a leader's and a follower's steady traffic in equal parts: accepts (a batch of 16 messages of 64 B),
/// accepted ranges, heartbeats and publish acks.
/// <para><see cref="Envelopes"/> is the member's path. <see cref="BoxedBefore"/> re-creates the path before envelopes as
/// the baseline: the frame read into a boxed message struct, and the answer boxed again when sent. It is a reconstruction
/// for comparison (the same queue and writer), not code a member still runs.</para>
/// dotnet run -c Release --project src/Bench -- --filter '*PeerFramePath*'
/// </summary>
[MemoryDiagnoser]
public class PeerFramePathBenchmarks
{
    private const int FramesPerKind = 64;
    private const int Frames = 4 * FramesPerKind;

    private ReadOnlySequence<byte> _burst;
    private OutboundQueue _queue = null!;
    private CancellationTokenSource _stop = null!;
    private Task _drain = Task.CompletedTask;

    [GlobalSetup]
    public void Setup()
    {
        var ballot = Ballot.Create(3, 1);
        var builder = new BatchBuilder(int.MaxValue);
        builder.BeginRun(1, 1);
        for (int m = 0; m < 16; m++) builder.TryAppendMessage(new byte[64]);
        builder.EndRun();
        var batch = builder.Seal();
        var frames = new ArrayBufferWriter<byte>();
        for (int i = 0; i < FramesPerKind; i++)
        {
            MessageWriter.Write(frames, new AcceptMessage(ballot, i, i - 1, batch));
            MessageWriter.Write(frames, new AcceptedMessage(ballot, i, i));
            MessageWriter.Write(frames, new HeartbeatMessage(ballot, i));
            MessageWriter.Write(frames, new PublishAckMessage(9, (ulong)i, 1, PublishStatus.Committed, i, (ulong)i + 1, 1));
        }
        batch.Release();
        _burst = new ReadOnlySequence<byte>(frames.WrittenMemory.ToArray());
        _queue = new OutboundQueue(16384);
        _stop = new CancellationTokenSource();
        _drain = _queue.DrainAsync(new DiscardingConnection(), _stop.Token);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _queue.Complete();
        _stop.Cancel();
        try { _drain.Wait(); } catch (AggregateException) { }
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public int Envelopes()
    {
        var buffer = _burst;
        int frames = 0;
        while (FrameCodec.TryReadFrame(ref buffer, out var frame))
        {
            var message = MessageReader.ReadEnvelope(frame, ordered: true);
            _queue.TryEnqueueForPump(message);
            OwnedFrames.Release(message);
            frames++;
        }
        _queue.Pump();
        return frames;
    }

    [Benchmark(OperationsPerInvoke = Frames, Baseline = true)]
    public int BoxedBefore()
    {
        var buffer = _burst;
        int frames = 0;
        while (FrameCodec.TryReadFrame(ref buffer, out var frame))
        {
            var received = MessageReader.ReadOwned(frame, ordered: true);       // a box per frame read
            var message = Envelope.FromObject(received);
            var sent = message.ToObject();                                    // and one per message sent
            _queue.TryEnqueueForPump(Envelope.FromObject(sent));
            OwnedFrames.Release(message);
            frames++;
        }
        _queue.Pump();
        return frames;
    }

    /// <summary>Only the output is used, and it keeps nothing.</summary>
    private sealed class DiscardingConnection : IConnection
    {
        public PipeReader Input => throw new NotSupportedException();
        public PipeWriter Output { get; } = new DiscardingWriter();
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

    private sealed class DiscardingWriter : PipeWriter
    {
        private readonly byte[] _buffer = new byte[1 << 20];

        public override void Advance(int bytes) { }
        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;
        public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;
        public override void CancelPendingFlush() { }
        public override void Complete(Exception? exception = null) { }
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => default;
    }
}
