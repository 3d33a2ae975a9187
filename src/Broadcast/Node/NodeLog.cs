using Microsoft.Extensions.Logging;

namespace AtomicBcast.Node;

/// <summary>The node's log events, with fixed ids (5000-5099).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(5000, LogLevel.Information, "member {NodeId} of cluster '{ClusterId}' serving on {EndPoint}; recovered promise {Promised}, next instance {NextInstance}, next position {NextPosition}")]
    public static partial void Started(ILogger logger, ushort nodeId, string clusterId, string endPoint, string promised, long nextInstance, long nextPosition);

    [LoggerMessage(5001, LogLevel.Information, "member {NodeId} stopping")]
    public static partial void Stopping(ILogger logger, ushort nodeId);

    [LoggerMessage(5002, LogLevel.Critical, "member {NodeId} HALTED and stops serving: {Reason}")]
    public static partial void Halted(ILogger logger, ushort nodeId, string reason, Exception exception);

    [LoggerMessage(5003, LogLevel.Information, "member {NodeId} is now {Role} (leader {LeaderId}, promised {Promised})")]
    public static partial void RoleChanged(ILogger logger, ushort nodeId, string role, ushort leaderId, string promised);

    [LoggerMessage(5004, LogLevel.Warning, "connection from {Remote} ({Kind}) closed: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string remote, string kind, string reason);

    [LoggerMessage(5005, LogLevel.Warning, "refused a member connection from {Remote}: node {NodeId} is not in the configuration")]
    public static partial void UnknownMember(ILogger logger, string remote, ushort nodeId);

    [LoggerMessage(5006, LogLevel.Information, "subscriber {Remote} asked for position {Position} below the earliest retained {Floor}")]
    public static partial void BelowFloor(ILogger logger, string remote, long position, long floor);

    [LoggerMessage(5007, LogLevel.Warning, "member {NodeId} cannot serve part of its delivered stream from its log: {Problem}")]
    public static partial void HistoryInconsistent(ILogger logger, ushort nodeId, string problem);
}
