using System.Net;

namespace AtomicBcast.Transport;

/// <summary>Accepts connections whose hello exchange succeeded; refused hellos never surface here (they are logged
/// and reported to <see cref="TransportOptions.HandshakeFailed"/>).</summary>
public interface IListener : IAsyncDisposable
{
    EndPoint LocalEndPoint { get; }

    /// <summary>Next accepted connection. Throws <see cref="OperationCanceledException"/> on cancellation and
    /// <see cref="ObjectDisposedException"/> once the listener is disposed.</summary>
    ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default);
}

/// <summary>Sockets (or in-memory pipes) to connections. Knows nothing of Paxos.</summary>
public interface ITransport
{
    /// <summary>Starts listening. Pass port 0 (TCP) or an empty name (in-memory) to get a free one.</summary>
    ValueTask<IListener> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default);

    /// <summary>Connects and exchanges hellos. Throws <see cref="TransportException"/> when nothing listens,
    /// or when the hello was refused or timed out (its reason says which).</summary>
    ValueTask<IConnection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default);
}
