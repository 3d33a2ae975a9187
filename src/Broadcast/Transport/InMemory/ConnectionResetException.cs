namespace AtomicBcast.Transport.InMemory;

/// <summary>The in-memory stand-in for ECONNRESET / EPIPE.</summary>
internal sealed class ConnectionResetException(string message) : IOException(message);
