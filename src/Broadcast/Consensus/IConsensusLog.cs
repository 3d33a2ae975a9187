using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>
/// The acceptor's log as the core sees it. Appends never block and never sync: each returns the record's log
/// sequence number (strictly increasing), and the host later reports, through <see cref="Member.Durable"/>, the
/// highest sequence number covered by a completed sync. Durability is a prefix: a record is durable when every
/// record before it is.
/// A batch passed in is borrowed: the log retains it if it keeps it beyond the call.
/// </summary>
public interface IConsensusLog
{
    /// <summary>The acceptor promised <paramref name="ballot"/> (also how a candidate persists its round).</summary>
    long AppendPromise(Ballot ballot);

    /// <summary>The acceptor accepted <paramref name="batch"/> for <paramref name="instance"/> at <paramref name="ballot"/>.</summary>
    long AppendAccept(long instance, Ballot ballot, BatchBuffer batch);

    /// <summary>The learner knows <paramref name="batch"/> chosen for <paramref name="instance"/> (so it can serve it after a restart).</summary>
    long AppendChosen(long instance, Ballot ballot, BatchBuffer batch);

    /// <summary>The learner's commit checkpoint: delivered through <see cref="Checkpoint.Instance"/>.</summary>
    long AppendCheckpoint(Checkpoint checkpoint);

    /// <summary>
    /// The value the log holds for <paramref name="instance"/>: its highest-ballot accept (the core never writes an accept
    /// for an instance below a higher one it holds, so this is also the latest), read synchronously, the batch retained
    /// for the caller (who releases it). False when the log holds none: never written, trimmed, or not durable yet.
    /// The core asks only for instances it delivered, to serve peers' fetches beyond what it keeps in memory; see
    /// Member.Learner.cs for why the value is then the chosen one.
    /// </summary>
    bool TryReadValue(long instance, out LogValue value);
}

/// <summary>Last delivered seq of one producer, and the instance that delivered it (for expiry by log position).</summary>
public readonly record struct ProducerEntry(ulong ProducerId, ulong LastSeq, long LastInstance);

/// <summary>Replicated learner state at a delivery point: every instance through <paramref name="Instance"/> is delivered,
/// the next message takes <paramref name="NextPosition"/>.</summary>
public sealed record Checkpoint(long Instance, long NextPosition, ProducerEntry[] Producers)
{
    /// <summary>The first instance from which the log holds the chosen value of every delivered instance: 0, or the
    /// instance after the last learner jump (the instances jumped over were never delivered here, and whatever accepts the
    /// log holds for them may be values that were not chosen). Carried by every later checkpoint, so it survives restarts.</summary>
    public long LogValuesFrom { get; init; }
}

/// <summary>One accepted (or known chosen) value read back from the log.</summary>
public readonly record struct LogValue(long Instance, Ballot Ballot, BatchBuffer Batch);

/// <summary>
/// What a member rebuilds from its log at start: the highest promise (over promise records and accept ballots),
/// the accept with the highest ballot per instance, the values it knew chosen, and its last checkpoint.
/// Batches are handed over: the member takes one reference of each.
/// </summary>
public sealed class RecoveredState
{
    public Ballot Promised { get; init; }
    public IReadOnlyList<LogValue> Accepts { get; init; } = [];
    public IReadOnlyList<LogValue> Chosen { get; init; } = [];
    public Checkpoint? Checkpoint { get; init; }
    /// <summary>The lowest instance from which the log still holds every accept it ever took (0: it never dropped any).
    /// The member refuses Prepares below it: it could not report the votes it dropped.</summary>
    public long AcceptedFloor { get; init; }
}
