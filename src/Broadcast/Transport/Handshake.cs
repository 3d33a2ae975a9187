namespace AtomicBcast.Transport;

/// <summary>The connecting side's end of the hello exchange, shared by every transport.</summary>
internal static class Handshake
{
    /// <summary>Returns the connection once hellos are exchanged; otherwise it is closed and this throws why.</summary>
    public static async Task<IConnection> CompleteAsync(Connection connection, TransportOptions options, CancellationToken cancellationToken)
    {
        var failure = await connection.HandshakeAsync(initiator: true, cancellationToken).ConfigureAwait(false);
        if (failure is not { } reason) return connection;
        Listener.ReportHandshakeFailure(options, connection.RemoteEndPoint, reason);
        throw new TransportException(reason);
    }
}
