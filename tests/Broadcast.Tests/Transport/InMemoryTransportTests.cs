using System.Net;
using AtomicBcast.Transport;
using AtomicBcast.Transport.InMemory;

namespace AtomicBcast.Tests.Transport;

public sealed class InMemoryTransportTests : TransportSuite
{
    private readonly InMemoryNetwork _network = new();

    protected override ITransport CreateTransport(TransportOptions options) => new InMemoryTransport(_network, options);

    protected override EndPoint AnyEndPoint => InMemoryEndPoint.Any;

    protected override Task<RawPeer> ConnectRawAsync(ITransport transport, EndPoint remote)
    {
        // The connection below the hello exchange: its pumps run, but nothing is sent unless the test writes it.
        var connection = ((InMemoryTransport)transport).ConnectRaw(remote);
        connection.Start();
        return Task.FromResult<RawPeer>(new PipePeer(connection));
    }

    private sealed class PipePeer(IConnection connection) : RawPeer
    {
        public override async Task SendAsync(byte[] bytes) => await connection.Output.WriteAsync(bytes);
        public override ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
