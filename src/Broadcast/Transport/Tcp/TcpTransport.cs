using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using AtomicBcast.Transport.Tls;
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
    private readonly ReceiveThreadBudget _receiveThreads;

    public TcpTransport(TransportOptions options)
    {
        Options = options;
        Pool = new BlockMemoryPool(options.BlockBytes, BlocksAtStart(options));
        _pipes = new PipeOptionsRing(ConnectionPipeOptions.Create(options, Pool, PipeScheduler.ThreadPool));
        _senders = new DefaultObjectPool<SocketSender>(new SenderPolicy(), options.ConnectionsExpected);
        _receiveThreads = new ReceiveThreadBudget(options.ReceiveThreadsMax);
    }

    public TransportOptions Options { get; }
    internal BlockMemoryPool Pool { get; }

    /// <summary>Connections receiving on a thread of their own now (<see cref="TransportOptions.ReceiveThreadsMax"/>).</summary>
    internal int ReceiveThreadsTaken => _receiveThreads.Taken;

    public ValueTask<IListener> ListenAsync(EndPoint endPoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IListener>(SocketListener.Start(endPoint, this));

    public async ValueTask<IConnection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken = default)
    {
        var socket = await ConnectSocketAsync(remote, cancellationToken).ConfigureAwait(false);
        Connection connection;
        try
        {
            // The peer may reset the connection right after it was accepted (a member exiting with a full backlog):
            // setting an option or reading its address then throws, and that is a failed connect like any other.
            SocketConnection.Configure(socket);
            connection = Options.Tls is { Mode: not TlsMode.Off } tls
                ? await ConnectTlsAsync(socket, tls, cancellationToken).ConfigureAwait(false)
                : CreateConnection(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new TransportException(new ShutdownReason(ShutdownKind.ConnectFailed, e.SocketErrorCode.ToString()), e);
        }
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

    internal SocketConnection CreateConnection(Socket socket) => new(socket, Options, _pipes.Next(), _senders, _receiveThreads);

    private async Task<Connection> ConnectTlsAsync(Socket socket, TlsSettings tls, CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        using var deadline = new CancellationTokenSource(Options.HelloTimeout, Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            await ssl.AuthenticateAsClientAsync(tls.ClientOptions(), linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException
            || (e is OperationCanceledException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested))
        {
            ssl.Dispose();
            socket.Dispose();
            var reason = new ShutdownReason(ShutdownKind.HelloRejected, $"TLS handshake failed: {(e is OperationCanceledException ? "no answer within " + Options.HelloTimeout : e.Message)}");
            Listener.ReportHandshakeFailure(Options, remote, reason);
            throw new TransportException(reason, e);
        }
        catch
        {
            ssl.Dispose();
            socket.Dispose();
            throw;
        }
        return new TlsConnection(socket, ssl, peerCertified: true, Options, _pipes.Next());
    }

    /// <summary>Listener side: TLS server handshake within the hello timeout (or, in optional mode, plain TCP when the
    /// first byte is not a TLS record); null when it failed (logged and reported, socket closed).</summary>
    internal async Task<Connection?> AcceptAsync(Socket socket, TlsSettings tls)
    {
        var remote = socket.RemoteEndPoint;
        using var deadline = new CancellationTokenSource(Options.HelloTimeout, Options.TimeProvider);
        SslStream? ssl = null;
        try
        {
            if (tls.Mode == TlsMode.Optional && !await StartsWithTlsAsync(socket, deadline.Token).ConfigureAwait(false))
                return CreateConnection(socket);
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsServerAsync(tls.ServerOptions(), deadline.Token).ConfigureAwait(false);
            return new TlsConnection(socket, ssl, peerCertified: ssl.RemoteCertificate is not null, Options, _pipes.Next());
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            ssl?.Dispose();
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
            string why = e is OperationCanceledException ? $"no TLS handshake within {Options.HelloTimeout}" : $"TLS handshake failed: {e.Message}";
            Listener.ReportHandshakeFailure(Options, remote, new ShutdownReason(ShutdownKind.HelloRejected, why));
            return null;
        }
    }

    /// <summary>A TLS connection starts with a handshake record (content type 22); our plain hello starts with its
    /// length's low byte, which is at least 24, and its high bytes are zero.</summary>
    private static async Task<bool> StartsWithTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        int read = await socket.ReceiveAsync(first, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
        return read == 1 && first[0] == 0x16;
    }

    // Steady state per connection: a block in the receive loop's hands, one being read, two in the output pipe.
    // Backlogged pipes grow the pool up to their pause thresholds; start-up does not pay for that worst case.
    private static int BlocksAtStart(TransportOptions o) => 4 * o.ConnectionsExpected;

    private sealed class SenderPolicy : IPooledObjectPolicy<SocketSender>
    {
        public SocketSender Create() => new();
        public bool Return(SocketSender sender) => true;
    }
}
