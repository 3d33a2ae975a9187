using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Threading.Channels;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Transport;

/// <summary>
/// One suite, run over every transport (dotNext style): each derived class supplies a transport and a way to play a
/// raw peer that skips the hello. Timeouts here only stop a hung test; no assertion depends on speed.
/// </summary>
public abstract class TransportSuite
{
    protected static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    protected abstract ITransport CreateTransport(TransportOptions options);

    /// <summary>An address that asks for a free port or name.</summary>
    protected abstract EndPoint AnyEndPoint { get; }

    /// <summary>Connects without any hello and lets the test write raw bytes.</summary>
    protected abstract Task<RawPeer> ConnectRawAsync(ITransport transport, EndPoint remote);

    protected static TransportOptions Options(string cluster = "test", ushort nodeId = 1, ushort version = HelloMessage.CurrentVersion) => new()
    {
        LocalHello = new HelloMessage(version, PeerKind.Member, nodeId, cluster),
        ConnectionsExpected = 2,
    };

    [Fact]
    public async Task ManyFramesBothWays()
    {
        await using var pair = await ConnectPairAsync(Options(nodeId: 1), Options(nodeId: 2));
        Assert.Equal((ushort)2, pair.Server.RemoteHello.NodeId);
        Assert.Equal((ushort)1, pair.Client.RemoteHello.NodeId);
        const int count = 3000;
        static int Size(int seq) => seq * 37 % 5000;
        var writes = Task.WhenAll(
            Task.Run(() => TestFrames.WriteManyAsync(pair.Client.Output, count, Size, burst: 16)),
            Task.Run(() => TestFrames.WriteManyAsync(pair.Server.Output, count, Size, burst: 7)));
        var reads = Task.WhenAll(
            Task.Run(() => TestFrames.ReadManyAsync(pair.Server.Input, count, Size)),
            Task.Run(() => TestFrames.ReadManyAsync(pair.Client.Input, count, Size)));
        await writes.WaitAsync(Guard);
        var totals = await reads.WaitAsync(Guard);
        Assert.Equal(totals[0], totals[1]);
        // Counted before the bytes reach the pipe, so every byte the reader saw is counted by now.
        Assert.Equal(totals[0], pair.Server.BytesReceived - HelloBytes(pair.Server));
        Assert.False(pair.Client.Closed.IsCompleted);
    }

    [Fact]
    public async Task BackpressureEngagesWithFramesLargerThanThePipeThresholds()
    {
        // Both pipes pause far below the 1 MiB frame size.
        var sender = Options(nodeId: 2) with { OutputPauseBytes = 64 * 1024, OutputResumeBytes = 32 * 1024 };
        var receiver = Options(nodeId: 1) with { InputPauseBytes = 256 * 1024, InputResumeBytes = 128 * 1024 };
        await using var pair = await ConnectPairAsync(receiver, sender);
        const int count = 96, size = 1 << 20; // 96 MiB: more than both pipes and the kernel's buffers can hold
        int pendingFlushes = 0;
        var writing = Task.Run(async () =>
        {
            for (int seq = 0; seq < count; seq++)
            {
                TestFrames.Write(pair.Client.Output, seq, size);
                var flush = pair.Client.Output.FlushAsync();
                if (!flush.IsCompleted) Interlocked.Increment(ref pendingFlushes);
                Assert.False((await flush).IsCompleted);
            }
        });

        // Read nothing: the receive loop must stop within one block past the pause threshold...
        long bound = receiver.InputPauseBytes + receiver.BlockBytes;
        var server = pair.Server;
        await WaitUntilAsync(() => server.BytesReceived >= receiver.InputPauseBytes);
        Assert.InRange(server.BytesReceived, receiver.InputPauseBytes, bound);
        // ...and the sender cannot finish: what is in flight is bounded well below what it has to send.
        Assert.False(writing.IsCompleted);
        Assert.True(Volatile.Read(ref pendingFlushes) > 0);
        Assert.InRange(server.BytesReceived, receiver.InputPauseBytes, bound);

        // Now read; a buffer holds at most the unexamined bound plus the partial frame being waited for.
        await ReadFramesCheckingBoundAsync(server.Input, count, size, bound + size).WaitAsync(Guard);
        await writing.WaitAsync(Guard);
    }

    private static async Task ReadFramesCheckingBoundAsync(System.IO.Pipelines.PipeReader input, int count, int size, long bound)
    {
        int seq = 0;
        while (seq < count)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            Assert.True(buffer.Length <= bound, $"input holds {buffer.Length} > {bound}");
            while (FrameCodec.TryReadFrame(ref buffer, out var frame)) TestFrames.Check(frame, seq++, size);
            input.AdvanceTo(buffer.Start, result.Buffer.End);
            Assert.False(result.IsCompleted && seq < count);
        }
    }

    [Fact]
    public async Task PeerResetMidFrameIsRecordedWithoutCrash()
    {
        await using var pair = await ConnectPairAsync(Options(), Options());
        const int announced = 100_000, sent = 50_000;
        FrameCodec.WriteHeader(pair.Client.Output, MessageType.Accept, 0, announced);
        pair.Client.Output.Write(new byte[sent].AsSpan());
        await pair.Client.Output.FlushAsync();

        var input = pair.Server.Input;
        long seen = 0;
        while (seen < Limits.FrameHeaderBytes + sent)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Guard);
            seen = result.Buffer.Length;
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
        pair.Client.Abort(ShutdownReason.LocalAbort);

        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Guard);
            var buffer = result.Buffer;
            Assert.False(FrameCodec.TryReadFrame(ref buffer, out _));
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (!result.IsCompleted) continue;
            Assert.Equal(Limits.FrameHeaderBytes + sent, result.Buffer.Length);
            break;
        }
        Assert.Equal(ShutdownKind.PeerReset, (await pair.Server.Closed.WaitAsync(Guard)).Kind);
        Assert.Equal(ShutdownKind.LocalAbort, (await pair.Client.Closed.WaitAsync(Guard)).Kind);
        // After the reset the writer learns from its flush result, not from an exception.
        pair.Server.Output.Write(new byte[10].AsSpan());
        Assert.True((await pair.Server.Output.FlushAsync()).IsCompleted);
    }

    [Theory]
    [InlineData("other-cluster", HelloMessage.CurrentVersion, "cluster")]
    [InlineData("test", HelloMessage.CurrentVersion + 1, "version")]
    public async Task HelloMismatchIsRefusedOnBothSides(string clientCluster, ushort clientVersion, string named)
    {
        var serverFailure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = CreateTransport(Options() with { HandshakeFailed = (_, r) => serverFailure.TrySetResult(r) });
        await using var listener = await server.ListenAsync(AnyEndPoint);
        var client = CreateTransport(Options(clientCluster, version: clientVersion));

        var refused = await Assert.ThrowsAsync<TransportException>(
            () => client.ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.Equal(ShutdownKind.HelloRejected, refused.Reason.Kind);
        Assert.Contains(named, refused.Reason.Detail);
        var onServer = await serverFailure.Task.WaitAsync(Guard);
        Assert.Equal(ShutdownKind.HelloRejected, onServer.Kind);
        Assert.Contains(named, onServer.Detail);
    }

    [Fact]
    public async Task SilentPeerMissesTheHelloDeadline()
    {
        var failure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = CreateTransport(Options() with
        {
            HelloTimeout = TimeSpan.FromMilliseconds(200),
            HandshakeFailed = (_, r) => failure.TrySetResult(r),
        });
        await using var listener = await server.ListenAsync(AnyEndPoint);
        await using var silent = await ConnectRawAsync(CreateTransport(Options()), listener.LocalEndPoint);
        Assert.Equal(ShutdownKind.HelloTimeout, (await failure.Task.WaitAsync(Guard)).Kind);
    }

    [Fact]
    public async Task OversizedFirstFrameIsAProtocolViolation()
    {
        var failure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = CreateTransport(Options() with { HandshakeFailed = (_, r) => failure.TrySetResult(r) });
        await using var listener = await server.ListenAsync(AnyEndPoint);
        await using var peer = await ConnectRawAsync(CreateTransport(Options()), listener.LocalEndPoint);
        var header = new byte[Limits.FrameHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1_000_000);
        header[4] = (byte)MessageType.Hello;
        await peer.SendAsync(header);
        var reason = await failure.Task.WaitAsync(Guard);
        Assert.Equal(ShutdownKind.ProtocolViolation, reason.Kind);
        Assert.Contains("hello", reason.Detail);
    }

    [Fact]
    public async Task BytesRightBehindTheHelloReachTheApplication()
    {
        var server = CreateTransport(Options(nodeId: 1));
        await using var listener = await server.ListenAsync(AnyEndPoint);
        await using var peer = await ConnectRawAsync(CreateTransport(Options(nodeId: 9)), listener.LocalEndPoint);
        // Hello and a first frame in one write, so they (usually) arrive in one read: the handshake must leave the frame.
        var bytes = new ArrayBufferWriter<byte>();
        HelloCodec.Write(bytes, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Publisher, 9, "test"));
        // An open member does not check an anonymous client's proof; it must still be there, right behind the hello.
        HelloCodec.WriteProof(bytes, new byte[Limits.HelloProofBytes]);
        var frame = new System.IO.Pipelines.Pipe();
        TestFrames.Write(frame.Writer, seq: 5, bodyBytes: 300);
        await frame.Writer.FlushAsync();
        var framed = await frame.Reader.ReadAsync();
        bytes.Write(framed.Buffer.ToArray());
        await peer.SendAsync(bytes.WrittenSpan.ToArray());

        await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        Assert.Equal(PeerKind.Publisher, accepted.RemoteHello.Kind);
        var read = await TestFrames.ReadManyAsync(accepted.Input, 1, _ => 300, firstSeq: 5).WaitAsync(Guard);
        Assert.Equal(Limits.FrameHeaderBytes + 300, read);
    }

    [Fact]
    public async Task OrderlyCloseDeliversEverythingThenEndsBothSides()
    {
        await using var pair = await ConnectPairAsync(Options(), Options());
        const int count = 200;
        static int Size(int seq) => 1000 + seq;
        await TestFrames.WriteManyAsync(pair.Client.Output, count, Size, burst: 50);
        var closing = pair.Client.CloseAsync();
        await TestFrames.ReadManyAsync(pair.Server.Input, count, Size).WaitAsync(Guard);
        var end = await pair.Server.Input.ReadAsync().AsTask().WaitAsync(Guard);
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
        Assert.Equal(ShutdownKind.PeerClosed, (await pair.Server.Closed.WaitAsync(Guard)).Kind);
        await closing.WaitAsync(Guard);
        Assert.Equal(ShutdownKind.LocalClose, (await pair.Client.Closed).Kind);
    }

    [Fact]
    public async Task IdleConnectionIsClosedButTrafficKeepsItOpen()
    {
        var clock = new ManualTimeProvider();
        var server = Options(nodeId: 1) with { TimeProvider = clock, IdleTimeout = TimeSpan.FromSeconds(10) };
        var client = Options(nodeId: 2) with { TimeProvider = clock, IdleTimeout = Timeout.InfiniteTimeSpan };
        await using var pair = await ConnectPairAsync(server, client);

        // Each step stays under the timeout since the last byte received, and a round trip proves the link alive.
        clock.Advance(TimeSpan.FromSeconds(6));
        await RoundTripAsync(pair, seq: 0);
        clock.Advance(TimeSpan.FromSeconds(9));
        await RoundTripAsync(pair, seq: 1);
        clock.Advance(TimeSpan.FromSeconds(9));
        await RoundTripAsync(pair, seq: 2);

        clock.Advance(TimeSpan.FromSeconds(13));
        Assert.Equal(ShutdownKind.Idle, (await pair.Server.Closed.WaitAsync(Guard)).Kind);
        Assert.Equal(ShutdownKind.PeerReset, (await pair.Client.Closed.WaitAsync(Guard)).Kind);
    }

    protected static async Task RoundTripAsync(ConnectionPair pair, int seq)
    {
        TestFrames.Write(pair.Client.Output, seq, 100);
        await pair.Client.Output.FlushAsync();
        var result = await pair.Server.Input.ReadAsync().AsTask().WaitAsync(Guard);
        var buffer = result.Buffer;
        Assert.True(FrameCodec.TryReadFrame(ref buffer, out var frame), "connection ended before the frame arrived");
        TestFrames.Check(frame, seq, 100);
        pair.Server.Input.AdvanceTo(buffer.Start);
    }

    [Fact]
    public async Task PeerLinkReconnectsAfterTheListenerRestarts()
    {
        var server = CreateTransport(Options(nodeId: 1));
        var client = CreateTransport(Options(nodeId: 2));
        var listener = await server.ListenAsync(AnyEndPoint);
        var endPoint = listener.LocalEndPoint;
        var established = Channel.CreateUnbounded<IConnection>();
        var linkOptions = new PeerLinkOptions
        {
            Backoff = new BackoffPolicy(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50)),
            Random = new Random(7),
            ExpectedNodeId = 1,
        };
        await using var link = new PeerLink(client, endPoint, async (c, stop) =>
        {
            established.Writer.TryWrite(c);
            await c.Closed.WaitAsync(stop);
        }, linkOptions);
        link.Start();

        var first = await established.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        await using (var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard))
        {
            await RoundTripAsync(new ConnectionPair(accepted, first), seq: 0);
            // The server "restarts": its listener goes away and its connections drop.
            await listener.DisposeAsync();
            accepted.Abort(ShutdownReason.LocalAbort);
        }
        Assert.Equal(ShutdownKind.PeerReset, (await first.Closed.WaitAsync(Guard)).Kind);
        await WaitUntilAsync(() => link.Failures > 0);
        Assert.Equal(ShutdownKind.ConnectFailed, link.LastFailure.Kind);

        await using var restarted = await server.ListenAsync(endPoint);
        await using var second = await restarted.AcceptAsync().AsTask().WaitAsync(Guard);
        var reconnected = await established.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        await RoundTripAsync(new ConnectionPair(second, reconnected), seq: 1);
        Assert.Equal(2, link.Connections);
    }

    [Fact]
    public async Task PeerLinkRefusesAPeerWithTheWrongNodeId()
    {
        var server = CreateTransport(Options(nodeId: 3));
        await using var listener = await server.ListenAsync(AnyEndPoint);
        int handed = 0;
        var options = new PeerLinkOptions
        {
            Backoff = new BackoffPolicy(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20)),
            Random = new Random(3),
            ExpectedNodeId = 1,
        };
        await using (var link = new PeerLink(CreateTransport(Options(nodeId: 2)), listener.LocalEndPoint, (c, _) =>
        {
            Interlocked.Increment(ref handed);
            return Task.CompletedTask;
        }, options))
        {
            link.Start();
            await WaitUntilAsync(() => link.Failures >= 2);
            Assert.Equal(ShutdownKind.HelloRejected, link.LastFailure.Kind);
            Assert.Contains("node 3", link.LastFailure.Detail);
            Assert.Equal(0, link.Connections);
        }
        Assert.Equal(0, Volatile.Read(ref handed));
    }

    [Fact]
    public async Task AnAbortRecordsItsReasonAndThePeerSeesAReset()
    {
        await using var pair = await ConnectPairAsync(Options(), Options());
        var violation = ShutdownReason.ProtocolViolation(new WireException("bad frame"));
        pair.Server.Abort(violation);
        pair.Server.Abort(ShutdownReason.Idle); // later reasons do not overwrite the first
        Assert.Equal(violation, await pair.Server.Closed.WaitAsync(Guard));
        Assert.Equal(ShutdownKind.PeerReset, (await pair.Client.Closed.WaitAsync(Guard)).Kind);
    }

    protected static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(Guard);
        while (!condition()) await Task.Delay(5, guard.Token);
    }

    private static long HelloBytes(IConnection c) =>
        Limits.FrameHeaderBytes + HelloCodec.FixedBytes + System.Text.Encoding.UTF8.GetByteCount(c.RemoteHello.ClusterId)
        + Limits.FrameHeaderBytes + Limits.HelloProofBytes;

    protected async Task<ConnectionPair> ConnectPairAsync(TransportOptions serverOptions, TransportOptions clientOptions)
    {
        var server = CreateTransport(serverOptions);
        var client = CreateTransport(clientOptions);
        await using var listener = await server.ListenAsync(AnyEndPoint);
        var connecting = client.ConnectAsync(listener.LocalEndPoint).AsTask();
        var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        return new ConnectionPair(accepted, await connecting.WaitAsync(Guard));
    }

    protected sealed record ConnectionPair(IConnection Server, IConnection Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    /// <summary>A peer below the hello: raw bytes out, nothing checked.</summary>
    protected abstract class RawPeer : IAsyncDisposable
    {
        public abstract Task SendAsync(byte[] bytes);
        public abstract ValueTask DisposeAsync();
    }

    /// <summary>
    /// A connect that fails with an error the transport did not wrap (a reset right after the connect, say) is one
    /// failed attempt: the link tries again and connects, rather than ending for good and leaving the member deaf to
    /// that peer until a restart (seen in a chaos run: a follower never heard the new leader).
    /// </summary>
    [Fact]
    public async Task APeerLinkSurvivesAConnectThatThrowsAnUnexpectedError()
    {
        var server = CreateTransport(Options(nodeId: 1));
        await using var listener = await server.ListenAsync(AnyEndPoint);
        var established = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new PeerLinkOptions
        {
            Backoff = new BackoffPolicy(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20)),
            Random = new Random(5),
            ExpectedNodeId = 1,
        };
        var flaky = new ThrowsOnceTransport(CreateTransport(Options(nodeId: 2)));
        await using var link = new PeerLink(flaky, listener.LocalEndPoint, async (c, stop) =>
        {
            established.TrySetResult();
            await c.Closed.WaitAsync(stop);
        }, options);
        link.Start();
        await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        await established.Task.WaitAsync(Guard);
        Assert.Equal(2, flaky.Attempts);
        Assert.Equal(1, link.Failures);
        Assert.Equal(ShutdownKind.TransportError, link.LastFailure.Kind);
        Assert.Equal(1, link.Connections);
    }

    private sealed class ThrowsOnceTransport(ITransport inner) : ITransport
    {
        private int _attempts;
        public int Attempts => Volatile.Read(ref _attempts);

        public ValueTask<IListener> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default) =>
            inner.ListenAsync(endPoint, cancellationToken);

        public ValueTask<IConnection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _attempts) == 1
                ? throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.NotConnected)
                : inner.ConnectAsync(remote, cancellationToken);
    }
}
