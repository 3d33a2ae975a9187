namespace AtomicBcast.Storage;

/// <summary>
/// The group-commit batching policy, in one place. The flusher starts a flush when the flusher is free and
/// either the pending bytes reached <see cref="BytesMax"/> or the oldest pending record has waited
/// <see cref="DelayMax"/>. With a zero delay it flushes as soon as it is free: batching then comes from the
/// records that arrive while the previous flush is syncing, which is what a disk-bound log wants.
/// </summary>
public sealed class CommitPolicy
{
    /// <summary>
    /// Flush as soon as the flusher is free, at most 4 MiB per flush. 4 MiB costs no extra memory (a buffer must hold
    /// the largest record anyway) and lets one fdatasync carry what arrives during a slow one.
    /// </summary>
    public static readonly CommitPolicy Default = BytesOrDelay(4 << 20, TimeSpan.Zero);

    public int BytesMax { get; }
    public TimeSpan DelayMax { get; }

    private CommitPolicy(int bytesMax, TimeSpan delayMax)
    {
        BytesMax = bytesMax;
        DelayMax = delayMax;
    }

    /// <summary>
    /// Flush when <paramref name="bytesMax"/> bytes are pending or the first pending record is
    /// <paramref name="delayMax"/> old. A flush carries about <paramref name="bytesMax"/> bytes; a single record
    /// larger than that is flushed alone.
    /// </summary>
    public static CommitPolicy BytesOrDelay(int bytesMax, TimeSpan delayMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesMax, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytesMax, 256 << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(delayMax, TimeSpan.Zero);
        return new CommitPolicy(bytesMax, delayMax);
    }

    public override string ToString() => $"BytesOrDelay({BytesMax}, {DelayMax.TotalMilliseconds} ms)";
}
