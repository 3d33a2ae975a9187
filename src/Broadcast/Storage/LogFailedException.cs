namespace AtomicBcast.Storage;

/// <summary>
/// The log could not write or sync, so nothing it holds in memory can be trusted to match the disk. Created once,
/// at the first failure, and then handed unchanged to every waiter and every later append (FasterLog's canned
/// exception). The node that owns the log must halt; retrying an fsync after a failure is not safe on Linux.
/// </summary>
public sealed class LogFailedException(string message, Exception inner) : IOException(message, inner);
