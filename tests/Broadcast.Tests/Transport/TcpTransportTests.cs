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

    [Fact]
    public async Task AConnectToAListenerThatNeverAnswersFailsAtTheConnectTimeout()
    {
        // A listener that never accepts, its queue full: Linux drops further SYNs, so a connect gets no answer.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(AnyEndPoint);
        silent.Listen(0);
        var filling = new List<Socket>();
        try
        {
            while (true)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                filling.Add(socket);
                var connecting = socket.ConnectAsync(silent.LocalEndPoint!);
                // A loopback connect that is answered completes in microseconds; one that waits a whole second (the SYN's
                // first retransmission) was dropped, even on a machine stalled for a few hundred milliseconds.
                if (await Task.WhenAny(connecting, Task.Delay(TimeSpan.FromSeconds(1))) != connecting) break;
                Assert.True(filling.Count < 64, "the listener's queue never filled");
            }
            var transport = CreateTransport(Options() with { ConnectTimeout = TimeSpan.FromMilliseconds(300) });
            var failed = await Assert.ThrowsAsync<TransportException>(async () => await transport.ConnectAsync(silent.LocalEndPoint!).AsTask().WaitAsync(Guard));
            Assert.Equal(ShutdownKind.ConnectFailed, failed.Reason.Kind);
            Assert.Contains("no answer within", failed.Reason.Detail);
        }
        finally
        {
            foreach (var socket in filling) socket.Dispose();
        }
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
