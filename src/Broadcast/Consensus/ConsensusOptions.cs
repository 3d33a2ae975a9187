namespace AtomicBcast.Consensus;

/// <summary>Tuning of one member's consensus core. All times are milliseconds of the injected <see cref="TimeProvider"/>.</summary>
public sealed class ConsensusOptions
{
    /// <summary>This member's id (the low 16 bits of its ballots); must be non-zero and listed in <see cref="Members"/>.</summary>
    public required ushort NodeId { get; init; }

    /// <summary>Every acceptor of the cluster, this member included. Quorum is a majority of them.</summary>
    public required ushort[] Members { get; init; }

    /// <summary>Most instances in flight (proposed, not yet delivered by the leader). Rounded up to a power of two.</summary>
    public int Window { get; init; } = 256;

    /// <summary>Most batch bytes in flight.</summary>
    public long WindowBytes { get; init; } = 64L << 20;

    /// <summary>A batch closes when the next run would take it above this size.</summary>
    public int BatchBytesMax { get; init; } = 1 << 20;

    /// <summary>Bytes of publisher runs the leader queues before answering Overloaded.</summary>
    public long IntakeBytesMax { get; init; } = 64L << 20;

    public int HeartbeatMs { get; init; } = 50;
    public int ElectionTimeoutMinMs { get; init; } = 300;
    public int ElectionTimeoutMaxMs { get; init; } = 600;

    /// <summary>Resend an Accept (or a Prepare) not answered within this time.</summary>
    public int RetransmitMs { get; init; } = 100;

    /// <summary>A fetch not answered within this time goes to the next member.</summary>
    public int FetchTimeoutMs { get; init; } = 100;
    public int FetchCountMax { get; init; } = 64;
    public int FetchBytesMax { get; init; } = 8 << 20;

    /// <summary>
    /// Chosen values kept in memory behind the delivery point, to serve fetches quickly; older ones are served from the
    /// log. Memory: up to this many batches of up to <see cref="BatchBytesMax"/> (256 MiB at the defaults). It was 16,384
    /// before fetches could be served from the log, which let a member hold gigabytes of delivered batches.
    /// </summary>
    public long RetainedInstances { get; init; } = 256;

    /// <summary>A commit checkpoint (position + producer table) is written every this many delivered instances.</summary>
    public int CheckpointEveryInstances { get; init; } = 64;

    /// <summary>A producer not seen for this many instances is dropped from the table (checked at checkpoints).</summary>
    public long ProducerIdleInstancesMax { get; init; } = 1L << 40;

    /// <summary>
    /// Instances covered by one promise chunk (one frame). Default 1: one accepted batch may be as large as
    /// <see cref="Limits.BatchBytesMax"/> (a single large run), so only one record per chunk always fits in a frame; a
    /// span of 256 instances of full batches could never be sent, and no election could complete while such accepts
    /// were outstanding. Larger spans only where every batch is known to be small (the simulation uses 1-4).
    /// </summary>
    public int PromiseChunkInstances { get; init; } = 1;

    public int Quorum => Members.Length / 2 + 1;

    internal void Validate()
    {
        Invariant.Require(NodeId != 0, "node id 0 is reserved");
        Invariant.Require(Array.IndexOf(Members, NodeId) >= 0, "this member is not in Members");
        Invariant.Require(Members.Length is > 0 and <= 64, "1..64 members");
        Invariant.Require(Window > 0 && BatchBytesMax > Limits.BatchHeaderBytes + Limits.RunHeaderBytes, "window and batch size");
        Invariant.Require(BatchBytesMax <= Limits.BatchBytesMax, "BatchBytesMax above Limits.BatchBytesMax");
        Invariant.Require(ElectionTimeoutMinMs > HeartbeatMs && ElectionTimeoutMaxMs > ElectionTimeoutMinMs, "election timeouts");
        Invariant.Require(PromiseChunkInstances is > 0 and <= Limits.PromiseChunkRecordsMax, "promise chunk size");
        Invariant.Require(CheckpointEveryInstances > 0 && RetainedInstances > 0, "checkpoint and retention");
    }
}
