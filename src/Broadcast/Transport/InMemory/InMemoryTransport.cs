using System.IO.Pipelines;
using System.Net;

namespace AtomicBcast.Transport.InMemory;

/// <summary>
/// The same interface as TCP over pipes in memory, for tests and the simulation. Connections run the very same
/// pump, handshake, idle and close code as TCP connections; only the link underneath differs.
/// </summary>
public sealed class InMemoryTransport : ITransport
{
    private readonly InMemoryNetwork _network;
    private readonly PipeOptionsRing _pipes;

    public InMemoryTransport(InMemoryNetwork network, TransportOptions options)
    {
        _network = network;
        Options = options;
        _pipes = new PipeOptionsRing(ConnectionPipeOptions.Create(options,
            new BlockMemoryPool(options.BlockBytes, 4 * options.ConnectionsExpected), PipeScheduler.ThreadPool));
    }

    public TransportOptions Options { get; }

    public ValueTask<IListener> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        if (endPoint is not InMemoryEndPoint name) throw new ArgumentException("an InMemoryEndPoint is required", nameof(endPoint));
        return ValueTask.FromResult<IListener>(_network.Bind(name, this));
    }

    public async ValueTask<IConnection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default)
    {
        var connection = ConnectRaw(remote);
        connection.Start();
        return await Handshake.CompleteAsync(connection, Options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The caller's end before any hello: tests use it to play a silent or misbehaving peer.</summary>
    internal InMemoryConnection ConnectRaw(EndPoint remote)
    {
        if (remote is not InMemoryEndPoint name) throw new ArgumentException("an InMemoryEndPoint is required", nameof(remote));
        return _network.Connect(name, this);
    }

    internal InMemoryConnection CreateConnection(PipeReader wireIn, PipeWriter wireOut, EndPoint remote) =>
        new(wireIn, wireOut, Options, _pipes.Next(), remote);
}
