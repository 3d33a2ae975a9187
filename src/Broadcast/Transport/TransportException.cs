namespace AtomicBcast.Transport;

/// <summary>
/// Thrown only where there is no connection to carry the reason: a connect that failed or whose hello was refused.
/// Once a connection exists, its end is a value on <see cref="IConnection.Closed"/>.
/// </summary>
public sealed class TransportException(ShutdownReason reason, Exception? inner = null)
    : Exception(reason.ToString(), inner)
{
    public ShutdownReason Reason { get; } = reason;
}
