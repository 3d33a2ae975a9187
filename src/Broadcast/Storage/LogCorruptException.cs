namespace AtomicBcast.Storage;

/// <summary>
/// The log on disk holds a bad record that is not a torn tail (valid data follows it), a bad segment header or a
/// missing segment. Open fails with it; nothing is truncated. The member must be repaired from its peers.
/// </summary>
public sealed class LogCorruptException(string segmentFile, long offset, string reason)
    : IOException($"log corrupt in segment {segmentFile} at offset {offset}: {reason}")
{
    public string SegmentFile { get; } = segmentFile;
    public long Offset { get; } = offset;
}
