namespace AtomicBcast.Storage;

/// <summary>The kinds of log records. Zero is never a record: preallocated space reads as zeros.</summary>
public enum RecordType : byte
{
    Promise = 1,
    Accept = 2,
    Checkpoint = 3,
    Trim = 4,
}
