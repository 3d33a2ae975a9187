using System.Net;
using System.Net.Sockets;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;

namespace AtomicBcast.Tests.Transport;

public class TcpTransportTests : TransportSuite
{
    protected override ITransport CreateTransport(TransportOptions options) => new TcpTransport(options);

    protected override EndPoint AnyEndPoint => new IPEndPoint(IPAddress.Loopback, 0);

    protected override async Task<RawPeer> ConnectRawAsync(ITransport transport, EndPoint remote)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(remote);
        return new SocketPeer(socket);
    }

    [Fact]
    public async Task ASecondListenerOnAPortInUseIsRefused()
    {
        // Without SO_REUSEPORT a second process (or listener) cannot silently share a member's port.
        var transport = CreateTransport(Options());
        await using var first = await transport.ListenAsync(AnyEndPoint, CancellationToken.None);
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await using var second = await transport.ListenAsync(first.LocalEndPoint, CancellationToken.None);
        });
        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }

    private sealed class SocketPeer(Socket socket) : RawPeer
    {
        public override async Task SendAsync(byte[] bytes) => await socket.SendAsync(bytes, SocketFlags.None);

        public override ValueTask DisposeAsync()
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
