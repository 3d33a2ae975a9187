using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

/// <summary>
/// Third review, L1': after a jump, an Accept for a jumped-over instance at or above the acceptor's floor is not voted
/// (instance below next) and has no value to answer with (below LogValuesFrom, not in memory). The Trimmed answer must
/// cover it (everything below next is chosen: delivered or jumped over), or the leader learns nothing about it, never
/// fetches it, and waits forever when its quorum needs this member.
/// </summary>
public class JumpedOverAcceptTests
{
    [Fact]
    public void AnAcceptForAJumpedOverInstanceGetsATrimmedThatCoversIt()
    {
        var host = new TestHost();
        var member = TestHost.Create(host, new ManualClock());
        member.Receive(2, new CheckpointMessage(63, 500, [])); // jump: next 64, LogValuesFrom 64, accepted floor still 0
        Assert.Equal(0, member.AcceptedFloor);
        var batch = TestHost.Batch(9, 1, 1);
        member.Receive(3, new AcceptMessage(Ballot.Create(5, 3), 50, 49, batch)); // a new leader (phase 1 from 50) re-proposes 50
        batch.Release();
        Assert.DoesNotContain(host.Log, l => l.StartsWith("accept 50", StringComparison.Ordinal)); // no vote
        Assert.Empty(host.SentOf<AcceptedMessage>());
        var reply = Assert.Single(host.SentOf<FetchReplyMessage>());
        Assert.Equal(FetchStatus.Trimmed, reply.Status);
        Assert.Equal(64, reply.Instance); // everything below our next instance is chosen
    }
}
