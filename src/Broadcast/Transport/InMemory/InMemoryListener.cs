using System.Net;

namespace AtomicBcast.Transport.InMemory;

internal sealed class InMemoryListener(InMemoryEndPoint endPoint, InMemoryTransport transport, InMemoryNetwork network)
    : Listener(transport.Options)
{
    public override EndPoint LocalEndPoint => endPoint;
    public InMemoryTransport Transport => transport;

    public void Offer(InMemoryConnection connection) => Admit(connection);

    protected override ValueTask StopAcceptingAsync()
    {
        network.Unbind(this);
        return ValueTask.CompletedTask;
    }
}
