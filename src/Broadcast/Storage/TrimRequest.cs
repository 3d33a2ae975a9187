namespace AtomicBcast.Storage;

/// <summary>
/// Which whole segments <see cref="GroupCommitLog.TrimAsync"/> may drop: those below an explicit instance, or the
/// oldest ones beyond a byte or age retention. The floor never rises above <see cref="FloorMax"/> (the caller
/// passes what every member has delivered). The tail segment, a segment not yet fully durable, and the segment
/// with the latest checkpoint and everything after it are always kept.
/// </summary>
public readonly record struct TrimRequest
{
    internal enum Kinds { BelowInstance, RetainBytes, RetainAge }

    internal Kinds Kind { get; private init; }
    internal ulong Instance { get; private init; }
    internal long Bytes { get; private init; }
    internal TimeSpan Age { get; private init; }

    /// <summary>The floor may not rise above this instance.</summary>
    public ulong FloorMax { get; private init; }

    /// <summary>Instances below <paramref name="floor"/> are no longer needed; reads below it fail from now on.</summary>
    public static TrimRequest BelowInstance(ulong floor) => new() { Kind = Kinds.BelowInstance, Instance = floor, FloorMax = floor };

    /// <summary>Keep about <paramref name="bytes"/> of segments (at least the tail), dropping the oldest.</summary>
    public static TrimRequest RetainBytes(long bytes, ulong floorMax = ulong.MaxValue) =>
        new() { Kind = Kinds.RetainBytes, Bytes = bytes, FloorMax = floorMax };

    /// <summary>Drop segments whose every record is older than <paramref name="age"/>.</summary>
    public static TrimRequest RetainAge(TimeSpan age, ulong floorMax = ulong.MaxValue) =>
        new() { Kind = Kinds.RetainAge, Age = age, FloorMax = floorMax };
}
