using Microsoft.Extensions.Logging;

namespace AtomicBcast.Transport;

/// <summary>Transport log events; ids 100-199 belong to Transport.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Connection to {Remote} closed: {Kind} {Detail}")]
    public static partial void ConnectionClosed(ILogger logger, string remote, ShutdownKind kind, string detail);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Hello exchange with {Remote} failed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string remote, ShutdownReason reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Accept on {Local} failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, string local, string error);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Link to {Remote} failed (attempt {Attempt}), retrying in {Delay}: {Reason}")]
    public static partial void LinkRetry(ILogger logger, string remote, int attempt, TimeSpan delay, ShutdownReason reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Link to {Remote} established")]
    public static partial void LinkEstablished(ILogger logger, string remote);
}
