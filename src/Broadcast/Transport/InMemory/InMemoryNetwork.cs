using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace AtomicBcast.Transport.InMemory;

/// <summary>
/// The shared "network" of in-memory transports: a registry of listeners by name. A connection is a pair of
/// wire pipes, one per direction, standing in for the socket; their thresholds play the kernel's buffers, so
/// backpressure reaches the sender just as it does over TCP.
/// </summary>
public sealed class InMemoryNetwork
{
    private readonly ConcurrentDictionary<string, InMemoryListener> _listeners = new(StringComparer.Ordinal);
    private readonly PipeOptions _wire;
    private int _nextName;

    /// <summary>Creates an empty network.</summary>
    /// <param name="wireBufferBytes">Bytes in flight per direction before the sender blocks (the kernel buffer).</param>
    public InMemoryNetwork(int wireBufferBytes = 256 * 1024)
    {
        _wire = new PipeOptions(pauseWriterThreshold: wireBufferBytes, resumeWriterThreshold: wireBufferBytes / 2,
            useSynchronizationContext: false);
    }

    internal InMemoryListener Bind(InMemoryEndPoint endPoint, InMemoryTransport transport)
    {
        var name = endPoint.Name.Length > 0 ? endPoint.Name : $"auto-{Interlocked.Increment(ref _nextName)}";
        var listener = new InMemoryListener(new InMemoryEndPoint(name), transport, this);
        if (!_listeners.TryAdd(name, listener)) throw new InvalidOperationException($"address in use: {name}");
        return listener;
    }

    internal void Unbind(InMemoryListener listener) =>
        _listeners.TryRemove(new KeyValuePair<string, InMemoryListener>(((InMemoryEndPoint)listener.LocalEndPoint).Name, listener));

    /// <summary>Creates both ends; the listener side is admitted (hello exchange) there, the caller's end is returned unstarted.</summary>
    internal InMemoryConnection Connect(InMemoryEndPoint remote, InMemoryTransport client)
    {
        if (!_listeners.TryGetValue(remote.Name, out var listener))
            throw new TransportException(new ShutdownReason(ShutdownKind.ConnectFailed, $"nothing listens on {remote}"));
        var toServer = new Pipe(_wire);
        var toClient = new Pipe(_wire);
        var clientEnd = client.CreateConnection(toClient.Reader, toServer.Writer, remote);
        var serverEnd = listener.Transport.CreateConnection(toServer.Reader, toClient.Writer, new InMemoryEndPoint($"{remote.Name}-peer"));
        listener.Offer(serverEnd);
        return clientEnd;
    }
}
