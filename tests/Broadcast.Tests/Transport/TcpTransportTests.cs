using System.Net;
using System.Net.Sockets;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;

namespace AtomicBcast.Tests.Transport;

public sealed class TcpTransportTests : TransportSuite
{
    protected override ITransport CreateTransport(TransportOptions options) => new TcpTransport(options);

    protected override EndPoint AnyEndPoint => new IPEndPoint(IPAddress.Loopback, 0);

    protected override async Task<RawPeer> ConnectRawAsync(ITransport transport, EndPoint remote)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(remote);
        return new SocketPeer(socket);
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
