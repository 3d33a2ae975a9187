using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Security;

/// <summary>The hello's challenge-response between members: only a process that knows the cluster secret gets in.</summary>
public class HelloAuthTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint Any = new(IPAddress.Loopback, 0);

    internal static TransportOptions Member(ushort id, string? secret, string cluster = "sec", Action<EndPoint?, ShutdownReason>? failed = null) => new()
    {
        LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, id, cluster),
        ConnectionsExpected = 2,
        Auth = new HelloAuth { ClusterSecret = secret is null ? default : Encoding.UTF8.GetBytes(secret) },
        HandshakeFailed = failed,
    };

    private static (TransportOptions Options, Task<ShutdownReason> Failure) Watched(TransportOptions options)
    {
        var failure = new TaskCompletionSource<ShutdownReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        return (options with { HandshakeFailed = (_, r) => failure.TrySetResult(r) }, failure.Task);
    }

    [Fact]
    public async Task MembersWithTheSameSecretConnect()
    {
        var server = new TcpTransport(Member(1, "the-shared-cluster-secret"));
        await using var listener = await server.ListenAsync(Any);
        await using var client = await new TcpTransport(Member(2, "the-shared-cluster-secret")).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard);
        await using var accepted = await listener.AcceptAsync().AsTask().WaitAsync(Guard);
        Assert.Equal((ushort)2, accepted.RemoteHello.NodeId);
        Assert.Equal((ushort)1, client.RemoteHello.NodeId);
    }

    [Theory]
    [InlineData("the-shared-cluster-secret", null)]
    [InlineData(null, "the-shared-cluster-secret")]
    [InlineData("the-shared-cluster-secret", "another-cluster-secret")]
    public async Task AMemberWithoutTheSecretIsRefusedOnBothSides(string? serverSecret, string? clientSecret)
    {
        var (serverOptions, serverFailure) = Watched(Member(1, serverSecret));
        await using var listener = await new TcpTransport(serverOptions).ListenAsync(Any);
        var refused = await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, clientSecret)).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.Equal(ShutdownKind.AccessDenied, refused.Reason.Kind);
        Assert.Contains("cluster secret", refused.Reason.Detail);
        var onServer = await serverFailure.WaitAsync(Guard);
        Assert.Equal(ShutdownKind.AccessDenied, onServer.Kind);
        Assert.Contains("did not prove the cluster secret", onServer.Detail);
    }

    [Fact]
    public async Task AMemberOfAnotherClusterIsRefusedWithItsName()
    {
        var (serverOptions, serverFailure) = Watched(Member(1, "the-shared-cluster-secret", cluster: "alpha"));
        await using var listener = await new TcpTransport(serverOptions).ListenAsync(Any);
        var refused = await Assert.ThrowsAsync<TransportException>(
            () => new TcpTransport(Member(2, "the-shared-cluster-secret", cluster: "beta")).ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        Assert.Equal(ShutdownKind.HelloRejected, refused.Reason.Kind);
        var onServer = await serverFailure.WaitAsync(Guard);
        Assert.Equal("peer belongs to cluster 'beta', we to 'alpha'", onServer.Detail);
    }

    [Fact]
    public async Task AProofRecordedOnOneConnectionIsUselessOnTheNext()
    {
        const string secret = "the-shared-cluster-secret";
        var (serverOptions, serverFailure) = Watched(Member(1, secret));
        await using var listener = await new TcpTransport(serverOptions).ListenAsync(Any);
        var port = ((IPEndPoint)listener.LocalEndPoint).Port;
        var ourNonce = new byte[Limits.HelloNonceBytes];
        var ourBody = new byte[HelloCodec.BodyBytesMax];
        int ourBytes = HelloCodec.WriteBody(ourBody, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, 2, "sec"), ourNonce);

        // First connection: a genuine proof over the member's first nonce (this test knows the secret).
        byte[] recorded;
        using (var first = await RawAsync(port))
        {
            await SendHelloAsync(first, ourBody.AsMemory(0, ourBytes));
            var theirBody = await ReadFrameBodyAsync(first);
            recorded = new byte[Limits.HelloProofBytes];
            HelloProof.Compute(recorded, Encoding.UTF8.GetBytes(secret), HelloRole.Initiator, ourBody.AsSpan(0, ourBytes), theirBody);
            await SendProofAsync(first, recorded);
            var answer = await ReadFrameAsync(first);
            Assert.Equal(HelloCodec.ProofFlag, answer.Flags); // accepted: the member proved itself back
        }
        // Second connection, same hello, the recorded proof: the member's nonce is new, so the proof is wrong.
        using var second = await RawAsync(port);
        await SendHelloAsync(second, ourBody.AsMemory(0, ourBytes));
        await ReadFrameBodyAsync(second);
        await SendProofAsync(second, recorded);
        var refusal = await ReadFrameAsync(second);
        Assert.Equal(MessageType.Error, refusal.Type);
        var reason = await serverFailure.WaitAsync(Guard);
        Assert.Equal(ShutdownKind.AccessDenied, reason.Kind);
    }

    [Fact]
    public void ProofsDependOnKeyRoleAndBothHellos()
    {
        var a = new byte[] { 1, 2, 3 };
        var b = new byte[] { 4, 5, 6 };
        var key = "k"u8.ToArray();
        var p = new byte[32];
        HelloProof.Compute(p, key, HelloRole.Initiator, a, b);
        Assert.True(HelloProof.Verify(p, key, HelloRole.Initiator, a, b));
        Assert.False(HelloProof.Verify(p, key, HelloRole.Acceptor, a, b));   // no reflection
        Assert.False(HelloProof.Verify(p, key, HelloRole.Initiator, b, a));
        Assert.False(HelloProof.Verify(p, "K"u8, HelloRole.Initiator, a, b));
        Assert.False(HelloProof.Verify(p, key, HelloRole.Initiator, [1, 2], [3, 4, 5, 6])); // lengths are part of the input
    }

    internal static async Task<Socket> RawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    private static async Task SendHelloAsync(Socket socket, ReadOnlyMemory<byte> body)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHeader(writer, MessageType.Hello, 0, body.Length);
        writer.Write(body.Span);
        await socket.SendAsync(writer.WrittenMemory);
    }

    private static async Task SendProofAsync(Socket socket, byte[] proof)
    {
        var writer = new ArrayBufferWriter<byte>();
        HelloCodec.WriteProof(writer, proof);
        await socket.SendAsync(writer.WrittenMemory);
    }

    private static async Task<byte[]> ReadFrameBodyAsync(Socket socket) => (await ReadFrameAsync(socket)).Body;

    internal static async Task<(MessageType Type, byte Flags, byte[] Body)> ReadFrameAsync(Socket socket)
    {
        var header = await ReadExactlyAsync(socket, Limits.FrameHeaderBytes);
        int length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header);
        var body = await ReadExactlyAsync(socket, length - 2);
        return ((MessageType)header[4], header[5], body);
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Guard);
            if (n == 0) throw new EndOfStreamException();
            read += n;
        }
        return buffer;
    }
}
