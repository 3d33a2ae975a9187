namespace AtomicBcast.Consensus;

/// <summary>
/// Deliberate bugs, for the simulation's negative controls only: each one must make the checkers fail,
/// or the checkers prove nothing. All off by default; internal, so only tests can turn them on.
/// </summary>
internal sealed class FaultSwitches
{
    /// <summary>The acceptor accepts ballots below its promise.</summary>
    public bool AcceptBelowPromise;

    /// <summary>The acceptor answers Accepted as soon as the accept is appended, before it is durable.</summary>
    public bool AckBeforeDurable;

    /// <summary>After a restart, the first candidacy reuses the recovered ballot instead of a higher round.</summary>
    public bool ReuseBallotAfterRestart;

    /// <summary>The learner delivers whatever accept it holds for an instance known chosen, whatever its ballot.</summary>
    public bool DeliverUnchosen;

    /// <summary>The leader never resends a lost Accept (a liveness bug: proves the liveness check bites).</summary>
    public bool NoRetransmit;

    /// <summary>A promise to another member leaves out the lowest vote of each chunk (the review's S1, made systematic):
    /// no per-message rule sees it, only the end-to-end checks (agreement, acked positions) can.</summary>
    public bool PromiseOmitsVote;

    /// <summary>A learner jump installs the checkpoint without its producer table (a stale exactly-once table): runs after the
    /// jump are judged differently than on the other learners, so positions diverge.</summary>
    public bool JumpDropsProducers;

    public bool Any => AcceptBelowPromise || AckBeforeDurable || ReuseBallotAfterRestart || DeliverUnchosen || NoRetransmit || PromiseOmitsVote
        || JumpDropsProducers;
}
