using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace AtomicBcast.Transport.Tls;

/// <summary>
/// A connected socket under an authenticated <see cref="SslStream"/>, pumped into the pipe pair of <see cref="Connection"/>.
/// A variant of the plain SocketConnection, which stays as it is: TLS costs copies and encryption per byte, and its
/// sends go through the stream (one write per pipe segment) rather than the gathered socket send.
/// </summary>
internal sealed class TlsConnection : Connection
{
    private readonly Socket _socket;
    private readonly SslStream _ssl;

    public TlsConnection(Socket socket, SslStream ssl, bool peerCertified, TransportOptions options, ConnectionPipeOptions pipes)
        : base(options, pipes, socket.RemoteEndPoint)
    {
        _socket = socket;
        _ssl = ssl;
        PeerCertified = peerCertified;
        IsEncrypted = true;
    }

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _ssl.ReadAsync(buffer);

    protected override async ValueTask WaitForDataAsync()
    {
        // SslStream passes a zero-byte read down to the socket when it has no decrypted bytes buffered.
        await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
    }

    protected override async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer) await _ssl.WriteAsync(segment).ConfigureAwait(false);
    }

    protected override void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    protected override void AbortLink()
    {
        Tcp.SocketConnection.Reset(_socket);
    }

    protected override void DisposeLink()
    {
        _ssl.Dispose();
        _socket.Dispose();
    }

    protected override ShutdownReason Classify(Exception error) => error switch
    {
        IOException { InnerException: SocketException s } => ClassifySocket(s),
        SocketException s => ClassifySocket(s),
        ObjectDisposedException => ShutdownReason.LocalAbort,
        IOException when IsAborted => ShutdownReason.LocalAbort,
        AuthenticationException => new ShutdownReason(ShutdownKind.ProtocolViolation, "TLS: " + error.Message),
        _ => new ShutdownReason(ShutdownKind.TransportError, error.Message),
    };

    private static ShutdownReason ClassifySocket(SocketException e) =>
        Tcp.SocketErrors.IsConnectionReset(e.SocketErrorCode) ? ShutdownReason.PeerReset
        : Tcp.SocketErrors.IsLocalAbort(e.SocketErrorCode) ? ShutdownReason.LocalAbort
        : new ShutdownReason(ShutdownKind.TransportError, e.SocketErrorCode.ToString());
}
