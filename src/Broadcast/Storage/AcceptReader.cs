using AtomicBcast.Wire;

namespace AtomicBcast.Storage;

/// <summary>
/// Reads accepts in instance order (the latest accept of each), for learners catching up and subscribers that
/// fell behind. Holds one record at a time in a reused buffer, never a segment. Not thread-safe: one reader
/// per consumer.
/// </summary>
public sealed class AcceptReader
{
    private readonly GroupCommitLog _log;
    private byte[] _scratch = new byte[4096];

    internal AcceptReader(GroupCommitLog log, ulong fromInstance)
    {
        _log = log;
        NextInstance = fromInstance;
    }

    /// <summary>The instance the next successful read returns.</summary>
    public ulong NextInstance { get; private set; }

    /// <summary>
    /// Reads <see cref="NextInstance"/> and moves past it. False when the log has no durable accept for it (a gap
    /// or the end): try again later or fetch it from a peer. <paramref name="batch"/> is valid until the next call.
    /// Throws <see cref="LogTrimmedException"/> if the instance was trimmed meanwhile.
    /// </summary>
    public bool TryReadNext(out ulong instance, out Ballot ballot, out ReadOnlyMemory<byte> batch)
    {
        instance = NextInstance;
        batch = default;
        if (!_log.TryReadAcceptInto(instance, ref _scratch, out ballot, out int length)) return false;
        batch = new ReadOnlyMemory<byte>(_scratch, 0, length);
        NextInstance = instance + 1;
        return true;
    }
}
