using System.Net;
using System.Net.Sockets;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;

namespace AtomicBcast.Tests.Security;

/// <summary>Connections a peer can make a member hold are bounded, per address and in total; a place is given back at close.</summary>
public class ConnectionLimitTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(100, 3)]   // the per-address limit bites
    [InlineData(3, 100)]   // the total limit bites
    public async Task ConnectionsBeyondALimitAreRefusedAndPlacesComeBackAtClose(int total, int perAddress)
    {
        var refusals = new List<ShutdownReason>();
        var options = HelloAuthTests.Member(1, "the-shared-cluster-secret") with
        {
            ConnectionsMax = total,
            ConnectionsPerAddressMax = perAddress,
            HelloTimeout = TimeSpan.FromSeconds(30), // the silent sockets below must hold their places for the whole test
            HandshakeFailed = (_, r) => { lock (refusals) refusals.Add(r); },
        };
        await using var listener = await new TcpTransport(options).ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)listener.LocalEndPoint).Port;

        // Three silent connections take every place (they sit in their hello exchange).
        var silent = new List<Socket>();
        for (int i = 0; i < 3; i++) silent.Add(await HelloAuthTests.RawAsync(port));
        await Tests.Node.LocalCluster.WaitUntilAsync(() => ((Listener)listener).OpenConnections == 3, Guard, "three connections admitted");

        // A fourth, even a genuine member, is cut off at once and the reason is reported.
        var client = new TcpTransport(HelloAuthTests.Member(2, "the-shared-cluster-secret"));
        await Assert.ThrowsAsync<TransportException>(() => client.ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard));
        // The listener reports the refusal on its own task, possibly after the client saw the reset.
        await Tests.Node.LocalCluster.WaitUntilAsync(() =>
        {
            lock (refusals) return refusals.Any(r => r.Kind == ShutdownKind.LimitExceeded && r.Detail!.Contains("connections open"));
        }, Guard, "the refusal was reported with its reason");

        // Closing one silent connection gives its place back: the member gets in.
        silent[0].Close(0);
        await Tests.Node.LocalCluster.WaitUntilAsync(() => ((Listener)listener).OpenConnections == 2, Guard, "the closed connection's place is back");
        await using var admitted = await client.ConnectAsync(listener.LocalEndPoint).AsTask().WaitAsync(Guard);
        Assert.Equal((ushort)1, admitted.RemoteHello.NodeId);
        foreach (var socket in silent) socket.Dispose();
    }
}
