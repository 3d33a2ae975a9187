using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.ObjectPool;

namespace AtomicBcast.Transport.Tcp;

/// <summary>
/// TCP over <see cref="Socket"/>. The buffer blocks and the send operations every connection reuses are pooled
/// here, sized at start-up from the options (which are sized from <see cref="Limits"/>).
/// </summary>
public sealed class TcpTransport : ITransport
{
    private readonly PipeOptionsRing _pipes;
    private readonly ObjectPool<SocketSender> _senders;

    public TcpTransport(TransportOptions options)
    {
        Options = options;
        Pool = new BlockMemoryPool(options.BlockBytes, BlocksAtStart(options));
        _pipes = new PipeOptionsRing(ConnectionPipeOptions.Create(options, Pool, PipeScheduler.ThreadPool));
        _senders = new DefaultObjectPool<SocketSender>(new SenderPolicy(), options.ConnectionsExpected);
    }

    public TransportOptions Options { get; }
    internal BlockMemoryPool Pool { get; }

    public ValueTask<IListener> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IListener>(SocketListener.Start(endPoint, this));

    public async ValueTask<IConnection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default)
    {
        var socket = await ConnectSocketAsync(remote, cancellationToken).ConfigureAwait(false);
        SocketConnection.Configure(socket);
        var connection = CreateConnection(socket);
        connection.Start();
        return await Handshake.CompleteAsync(connection, Options, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Socket> ConnectSocketAsync(EndPoint remote, CancellationToken cancellationToken)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(Options.ConnectTimeout, Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            await socket.ConnectAsync(remote, linked.Token).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new TransportException(new ShutdownReason(ShutdownKind.ConnectFailed, e.SocketErrorCode.ToString()), e);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TransportException(new ShutdownReason(ShutdownKind.ConnectFailed, $"no answer within {Options.ConnectTimeout}"));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal SocketConnection CreateConnection(Socket socket) => new(socket, Options, _pipes.Next(), _senders);

    // Steady state per connection: a block in the receive loop's hands, one being read, two in the output pipe.
    // Backlogged pipes grow the pool up to their pause thresholds; start-up does not pay for that worst case.
    private static int BlocksAtStart(TransportOptions o) => 4 * o.ConnectionsExpected;

    private sealed class SenderPolicy : IPooledObjectPolicy<SocketSender>
    {
        public SocketSender Create() => new();
        public bool Return(SocketSender sender) => true;
    }
}
