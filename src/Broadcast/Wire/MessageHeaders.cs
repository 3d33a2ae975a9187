namespace AtomicBcast.Wire;

// The fixed fields of the messages that carry batch bytes. Readers return these plus the batch bytes as a
// ReadOnlySequence slice of the frame (no copy); a caller that keeps the batch copies it once (BatchBuffer.CopyOf).

/// <summary>Fixed fields of an accept frame; the batch follows as a slice.</summary>
public readonly record struct AcceptHeader(Ballot Ballot, long Instance, long CommitUpTo);

/// <summary>Fixed fields of a fetch reply; the batch slice is empty unless Status is Chosen.</summary>
public readonly record struct FetchReplyHeader(long Instance, Ballot Ballot, FetchStatus Status);

/// <summary>Fixed fields of a deliver frame; the skipped run indexes (u16 each) and the batch follow as slices.</summary>
public readonly record struct DeliverHeader(long FirstPosition, long Instance, int SkippedRunCount);

/// <summary>Fixed fields of one promise chunk; its records are read in place with a <see cref="PromiseRecordReader"/>.</summary>
public readonly record struct PromiseHeader(Ballot Ballot, long FromInstance, bool Last, int RecordCount);

/// <summary>Fixed fields of one record of a promise chunk; its batch follows as a slice.</summary>
public readonly record struct PromiseRecordHeader(long Instance, Ballot AcceptedBallot);
