using AtomicBcast.Storage.Devices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtomicBcast.Storage;

/// <summary>How to open a <see cref="GroupCommitLog"/>. One log (one directory) per member.</summary>
public sealed class GroupCommitLogOptions
{
    /// <summary>The member's log directory; used when <see cref="Device"/> is null.</summary>
    public string? Directory { get; init; }

    /// <summary>The device to use instead of <see cref="Directory"/> (tests pass a <see cref="SimulatedLogDevice"/>).</summary>
    public ILogDevice? Device { get; init; }

    /// <summary>The owning member; written in every segment header and checked at open.</summary>
    public ushort MemberId { get; init; }

    /// <summary>The cluster; written in every segment header and checked at open.</summary>
    public string ClusterId { get; init; } = "";

    /// <summary>Bytes per segment file, preallocated; a multiple of 4096 between 64 KiB and 2 GiB. Default 64 MiB.</summary>
    public long SegmentBytes { get; init; } = 64 << 20;

    /// <summary>
    /// Trimmed segment files kept (as spares) to become later segments instead of being deleted. Writing into a reused
    /// file changes no file-system metadata (its blocks are allocated and written, where a fresh preallocated file's
    /// are "unwritten" and every fdatasync into it must also commit the extent change to the journal), and a trim then
    /// deletes nothing (on a file system mounted with discard, deleting a 64 MiB file stalls every sync on the disk for
    /// tens of milliseconds). Each spare takes one segment of disk. 0: trimmed files are deleted. Default 4.
    /// </summary>
    public int SpareSegmentsMax { get; init; } = 4;

    /// <summary>
    /// Writes spares with zeros ahead of need, in the background, whenever the log has none (and its first segment at
    /// creation, before open returns): until trimming retires files, new segments would otherwise be preallocated
    /// files whose syncs each commit an extent change to the journal (on this kind of disk a sync then takes about
    /// 1.0 ms instead of 0.6 with three logs syncing). Costs one segment of extra writes per segment until spares come
    /// from trimming, and one segment of disk. Default false (tests of the log stay single-writer); members turn it on.
    /// </summary>
    public bool PrepareSpares { get; init; }

    /// <summary>When the flusher starts a flush and how much one flush carries.</summary>
    public CommitPolicy Policy { get; init; } = CommitPolicy.Default;

    /// <summary><see cref="DurabilityMode.Sync"/> unless a benchmark explicitly asks for the unsafe mode.</summary>
    public DurabilityMode Durability { get; init; } = DurabilityMode.Sync;

    /// <summary>Write buffers: one filling, one being flushed, the rest absorb bursts. At least 2.</summary>
    public int WriteBufferCount { get; init; } = 3;

    /// <summary>Initial capacity (a power of two) of the instance index; it doubles when the live window outgrows it.</summary>
    public int IndexCapacity { get; init; } = 1 << 16;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the log reports opening, torn tails cut at recovery, trims and its failure.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    internal ILogDevice CreateDevice() =>
        Device ?? new FileLogDevice(Directory ?? throw new ArgumentException("GroupCommitLogOptions needs a Directory or a Device"));

    internal void Validate()
    {
        if (SegmentBytes < LogFormat.SegmentBytesMin || SegmentBytes > LogFormat.SegmentBytesMax || SegmentBytes % 4096 != 0)
            throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "a multiple of 4096 between 64 KiB and 2 GiB");
        if (SpareSegmentsMax < 0) throw new ArgumentOutOfRangeException(nameof(SpareSegmentsMax), SpareSegmentsMax, "0 or more");
        if (WriteBufferCount < 2) throw new ArgumentOutOfRangeException(nameof(WriteBufferCount), WriteBufferCount, "at least 2");
        if (IndexCapacity <= 0 || (IndexCapacity & (IndexCapacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(IndexCapacity), IndexCapacity, "a power of two");
        if (System.Text.Encoding.UTF8.GetByteCount(ClusterId) > Limits.ClusterIdBytesMax)
            throw new ArgumentOutOfRangeException(nameof(ClusterId), ClusterId, $"at most {Limits.ClusterIdBytesMax} UTF-8 bytes");
    }
}
