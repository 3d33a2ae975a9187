namespace AtomicBcast.Storage;

/// <summary>
/// A commit checkpoint record the log holds, as its in-memory index knows it: every instance through
/// <see cref="Instance"/> was delivered and the next message takes <see cref="NextPosition"/>. Its producer table is
/// read from <see cref="Address"/> with <see cref="GroupCommitLog.ReadCheckpointTable"/>.
/// </summary>
public readonly record struct CheckpointMark(ulong Instance, ulong NextPosition, LogAddress Address);

/// <summary>What <see cref="GroupCommitLog.TryReadHighestAccept"/> found.</summary>
public enum AcceptRead
{
    /// <summary>Read, CRC checked.</summary>
    Found,
    /// <summary>The log holds no accept for the instance.</summary>
    None,
    /// <summary>The accept is appended but not yet durable: wait for its address with <see cref="GroupCommitLog.WaitForDurableAsync"/>.</summary>
    NotDurable,
}
