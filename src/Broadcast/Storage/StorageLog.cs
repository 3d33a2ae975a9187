using Microsoft.Extensions.Logging;

namespace AtomicBcast.Storage;

/// <summary>The log's messages, with fixed event ids (3000-3099: storage).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "log {Log} opened: {Segments} segments, tail at {Tail}, earliest retained instance {Floor}")]
    public static partial void Opened(ILogger logger, string log, int segments, ulong tail, ulong floor);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "log {Log}: cut a torn tail in {Segment} at offset {Offset} ({Bytes} bytes of an unsynced flush cleared)")]
    public static partial void TornTailCut(ILogger logger, string log, string segment, long offset, long bytes);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "log {Log}: created {Segment}")]
    public static partial void SegmentCreated(ILogger logger, string log, string segment);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "log {Log}: created {Segment} from the spare {Spare}")]
    public static partial void SegmentReused(ILogger logger, string log, string segment, string spare);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "log {Log}: could not write a spare segment ahead of need; new segments are preallocated instead")]
    public static partial void SpareNotPrepared(ILogger logger, string log, Exception failure);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "log {Log}: the search for records after the stop at offset {Offset} of {Segment} gave up at offset {GaveUpAt} (too many record-like bytes); corruption beyond it would be taken for a torn tail")]
    public static partial void EvidenceSearchCut(ILogger logger, string log, string segment, long offset, long gaveUpAt);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "log {Log}: could not reuse the spare {Spare}; deleted it and made a new segment file")]
    public static partial void SpareNotUsed(ILogger logger, string log, string spare, Exception failure);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "log {Log}: trimmed {Count} segments, earliest retained instance {Floor}")]
    public static partial void Trimmed(ILogger logger, string log, int count, ulong floor);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Critical, Message = "log {Log} failed; the node must halt")]
    public static partial void Failed(ILogger logger, string log, Exception failure);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "log {Log}: ignored a clean-close marker because {Problem}; recovery uses the crash rules")]
    public static partial void MarkerUntrusted(ILogger logger, string log, string problem);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "log {Log}: could not leave a clean-close marker; the next open uses the crash rules")]
    public static partial void MarkerNotWritten(ILogger logger, string log, Exception failure);
}
