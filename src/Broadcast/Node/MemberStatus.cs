using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>A snapshot of one member's state, refreshed by its loop every tick.</summary>
/// <param name="NodeId">The member.</param>
/// <param name="Role">Follower, candidate or leader.</param>
/// <param name="LeaderId">The member it believes leads (0: none known).</param>
/// <param name="Promised">Its highest promised ballot.</param>
/// <param name="NextInstance">The next instance its learner delivers.</param>
/// <param name="NextPosition">The position its next delivered message takes (every position below is delivered).</param>
/// <param name="ChosenUpTo">Highest instance it knows chosen.</param>
/// <param name="LogBytes">Bytes written to its log so far.</param>
/// <param name="Halted">True once the member halted (log failure or broken invariant).</param>
/// <param name="AcceptedFloor">Its acceptor holds every accept from this instance up (<see cref="Member.AcceptedFloor"/>).</param>
/// <param name="QueuedRuns">Runs it took as leader and has not yet batched (<see cref="Member.QueuedRuns"/>).</param>
public readonly record struct MemberStatus(ushort NodeId, Role Role, ushort LeaderId, Ballot Promised, long NextInstance, long NextPosition,
    long ChosenUpTo, long LogBytes, bool Halted, long AcceptedFloor = 0, int QueuedRuns = 0);

/// <summary>The member stopped serving because its log failed, its log is corrupt, or a consensus invariant broke.</summary>
public sealed class MemberHaltedException(string message, Exception inner) : Exception(message, inner);
