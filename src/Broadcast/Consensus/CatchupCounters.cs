namespace AtomicBcast.Consensus;

/// <summary>How often the catch-up paths ran (for the simulation's statistics: proof that a configuration reaches them).</summary>
internal sealed class CatchupCounters
{
    /// <summary>Chosen values served to a peer from the log (no longer in memory).</summary>
    public long LogServed;
    /// <summary>Checkpoints sent to a peer that asked for an instance this member no longer holds.</summary>
    public long CheckpointsSent;
    /// <summary>Checkpoints installed by this member's learner (jumps ahead).</summary>
    public long Jumps;
    /// <summary>Accepts for instances this member had already delivered, answered with the value or a Trimmed instead of a vote.</summary>
    public long AcceptsDelivered;
    /// <summary>A leader or candidate about to deliver a value a higher ballot chose stepped down (the second review's F1 path).</summary>
    public long StaleLeaderStepDowns;
}
