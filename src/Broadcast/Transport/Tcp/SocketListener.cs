using System.Net;
using System.Net.Sockets;

namespace AtomicBcast.Transport.Tcp;

/// <summary>A listening socket with one accept loop; each accepted socket becomes a <see cref="SocketConnection"/>.</summary>
internal sealed class SocketListener : Listener
{
    private readonly Socket _socket;
    private readonly TcpTransport _transport;
    private Task _acceptLoop = Task.CompletedTask;

    private SocketListener(Socket socket, TcpTransport transport) : base(transport.Options)
    {
        _socket = socket;
        _transport = transport;
    }

    public override EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    public static SocketListener Start(EndPoint endPoint, TcpTransport transport)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            AllowRebindDuringTimeWait(socket);
            socket.Bind(endPoint);
            socket.Listen(transport.Options.AcceptBacklog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var listener = new SocketListener(socket, transport);
        listener._acceptLoop = listener.AcceptLoopAsync();
        return listener;
    }

    /// <summary>
    /// A restarted listener must be able to take its port back while old connections sit in TIME_WAIT: that is
    /// SO_REUSEADDR. .NET's ReuseAddress option on Linux also sets SO_REUSEPORT, which would let a second process
    /// bind the same port silently and share its connections, so on Linux the plain option is set directly and a
    /// port that something listens on fails to bind with AddressAlreadyInUse.
    /// </summary>
    private static void AllowRebindDuringTimeWait(Socket socket)
    {
        const int SolSocket = 1, SoReuseAddr = 2;
        if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        else socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    }

    protected override async ValueTask StopAcceptingAsync()
    {
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
    }

    /// <summary>Over a limit: reset at once (no FIN handshake to wait for, no pipes or buffers were made for it).</summary>
    private static void Drop(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    /// <summary>The TLS handshake runs off the accept loop, inside the connection's reserved place and hello deadline.</summary>
    private async Task AdmitTlsAsync(Socket accepted, EndPoint? remote, Tls.TlsSettings tls)
    {
        var connection = await _transport.AcceptAsync(accepted, tls).ConfigureAwait(false);
        if (connection is null) ReleaseReserved(remote);
        else AdmitReserved(connection);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException
                || (e is SocketException s && SocketErrors.IsLocalAbort(s.SocketErrorCode)))
            {
                return; // disposed
            }
            catch (SocketException e)
            {
                // A connection reset while still in the backlog, or out of descriptors: not fatal to the listener.
                TransportLog.AcceptFailed(_transport.Options.Logger, _socket.LocalEndPoint?.ToString() ?? "?", e.SocketErrorCode.ToString());
                continue;
            }
            // The client may reset the connection at any moment after accept: then reading its address or setting an
            // option throws, and that must cost this connection only, never the accept loop.
            EndPoint? remote;
            try
            {
                remote = accepted.RemoteEndPoint;
            }
            catch (SocketException e)
            {
                TransportLog.AcceptFailed(_transport.Options.Logger, _socket.LocalEndPoint?.ToString() ?? "?", e.SocketErrorCode.ToString());
                accepted.Dispose();
                continue;
            }
            if (!TryReserve(remote))
            {
                Drop(accepted);
                continue;
            }
            try
            {
                SocketConnection.Configure(accepted);
                if (_transport.Options.Tls is { Mode: not Tls.TlsMode.Off } tls) _ = AdmitTlsAsync(accepted, remote, tls);
                else AdmitReserved(_transport.CreateConnection(accepted));
            }
            catch (SocketException e)
            {
                ReleaseReserved(remote);
                TransportLog.AcceptFailed(_transport.Options.Logger, _socket.LocalEndPoint?.ToString() ?? "?", e.SocketErrorCode.ToString());
                accepted.Dispose();
            }
        }
    }
}
