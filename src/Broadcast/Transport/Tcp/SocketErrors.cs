using System.Net.Sockets;

namespace AtomicBcast.Transport.Tcp;

/// <summary>Sorts socket errors the way Kestrel does: the peer went away, we cut it ourselves, or something else.</summary>
internal static class SocketErrors
{
    public static bool IsConnectionReset(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.Shutdown
        || (error == SocketError.ConnectionAborted && OperatingSystem.IsWindows());

    /// <summary>Errors our own Dispose/abort produces on pending operations.</summary>
    public static bool IsLocalAbort(SocketError error) =>
        error is SocketError.OperationAborted or SocketError.Interrupted
        || (error == SocketError.InvalidArgument && !OperatingSystem.IsWindows());
}
