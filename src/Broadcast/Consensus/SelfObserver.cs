using AtomicBcast.Wire;

namespace AtomicBcast.Consensus;

/// <summary>
/// Sees the messages a member hands to itself inline (its own promise, its own Accepted), which never pass through
/// <see cref="IConsensusOutput"/>: the simulation's checker needs them to judge every vote. Test-only; internal.
/// </summary>
internal sealed class SelfObserver
{
    public Action<PromiseMessage>? Promise;
    public Action<AcceptedMessage>? Accepted;
}
