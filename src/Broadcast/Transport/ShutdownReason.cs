using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>Why a connection ended. Operating conditions, not bugs: recorded as a value, never thrown.</summary>
public enum ShutdownKind : byte
{
    None = 0,
    /// <summary>This side closed in order: everything written was sent, then FIN.</summary>
    LocalClose,
    /// <summary>This side dropped the connection at once (unsent bytes lost, the peer sees a reset).</summary>
    LocalAbort,
    /// <summary>The peer closed in order (FIN) first.</summary>
    PeerClosed,
    /// <summary>The peer reset the connection, or it broke under us (RST, broken pipe).</summary>
    PeerReset,
    /// <summary>Nothing was received for the idle timeout.</summary>
    Idle,
    /// <summary>The peer's hello names another protocol version, cluster or node.</summary>
    HelloRejected,
    /// <summary>The peer did not send its hello before the deadline.</summary>
    HelloTimeout,
    /// <summary>The peer sent malformed input (a <see cref="WireException"/>).</summary>
    ProtocolViolation,
    /// <summary>No connection could be made (refused, unreachable, no listener).</summary>
    ConnectFailed,
    /// <summary>Any other socket error; <see cref="ShutdownReason.Detail"/> names it.</summary>
    TransportError,
    /// <summary>Authentication or authorisation failed in the hello exchange: the cluster secret was not proven, or the
    /// client's token is unknown or lacks the right; <see cref="ShutdownReason.Code"/> says which when the peer told us.</summary>
    AccessDenied,
    /// <summary>A resource limit (connections in total or per address, TLS handshake) refused the connection.</summary>
    LimitExceeded,
}

/// <summary>A <see cref="ShutdownKind"/> with an optional human-readable detail for the log.</summary>
/// <param name="Kind">What ended the connection.</param>
/// <param name="Detail">Why, for the log.</param>
/// <param name="Code">For <see cref="ShutdownKind.AccessDenied"/>: the code of the error frame the peer sent, if any.</param>
public readonly record struct ShutdownReason(ShutdownKind Kind, string? Detail = null, ErrorCode Code = ErrorCode.None)
{
    public static ShutdownReason LocalClose => new(ShutdownKind.LocalClose);
    public static ShutdownReason LocalAbort => new(ShutdownKind.LocalAbort);
    public static ShutdownReason PeerClosed => new(ShutdownKind.PeerClosed);
    public static ShutdownReason PeerReset => new(ShutdownKind.PeerReset);
    public static ShutdownReason Idle => new(ShutdownKind.Idle);

    public static ShutdownReason ProtocolViolation(WireException e) => new(ShutdownKind.ProtocolViolation, e.Message);
    public static ShutdownReason HelloRejected(string why) => new(ShutdownKind.HelloRejected, why);
    public static ShutdownReason AccessDenied(string why, ErrorCode code = ErrorCode.None) => new(ShutdownKind.AccessDenied, why, code);

    public override string ToString() => Detail is null ? Kind.ToString() : $"{Kind}: {Detail}";
}
