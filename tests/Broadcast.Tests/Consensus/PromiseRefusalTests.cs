using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

/// <summary>
/// The refusal at answer time (second review, M2): a promise that became durable after the acceptor's floor rose above
/// its from (a heartbeat of a ballot it never promised released the pin, then its learner delivered and trimmed) is not
/// sent at all: it could no longer report the votes it dropped.
/// </summary>
public sealed class PromiseRefusalTests
{
    [Fact]
    public void PendingPromiseIsNotSentOnceTheFloorRoseAboveItsFrom()
    {
        var clock = new ManualClock();
        var host = new TestHost();
        var member = new Member(new ConsensusOptions { NodeId = 2, Members = [1, 2, 3], RetainedInstances = 2 }, host, host, clock, new Random(1));
        var candidate = Ballot.Create(2, 3);
        var newer = Ballot.Create(3, 1);

        // 3's candidacy: 2 promises (not yet durable) from instance 0; its pin keeps every accept from 0.
        member.Receive(3, new PrepareMessage(candidate, 0));
        Assert.Equal(candidate, member.Promised);

        // A heartbeat of a higher ballot (never promised: heartbeats do not raise the promise) releases the pin up to 9;
        // the learner fetches the chosen values, delivers them and trims below 8.
        member.Receive(1, new HeartbeatMessage(newer, 9));
        for (long i = 0; i <= 9; i++)
        {
            var batch = TestHost.Batch(7, (ulong)i + 1, 1);
            member.Receive(1, new FetchReplyMessage(i, newer, FetchStatus.Chosen, batch));
            batch.Release();
        }
        Assert.Equal(10, member.NextInstance);
        Assert.Equal(candidate, member.Promised);
        Assert.True(member.AcceptedFloor > 0, $"floor {member.AcceptedFloor}");

        // The promise becomes durable: it is refused, not sent (nor a Rejected: the ballot is still our promise).
        member.Durable(host.Lsn);
        Assert.Empty(host.SentOf<PromiseMessage>());
        Assert.Empty(host.SentOf<RejectedMessage>());
        Assert.Equal(1, member.Floor.PromisesRefused);

        // A re-sent Prepare from below the floor is not answered either; one from the floor is (once 1's leadership is
        // no longer fresh: a member hearing a live leader refuses other candidates anyway).
        clock.NowMs += 1000;
        member.Receive(3, new PrepareMessage(candidate, 0));
        Assert.Empty(host.SentOf<PromiseMessage>());
        member.Receive(3, new PrepareMessage(candidate, member.AcceptedFloor));
        Assert.Single(host.SentOf<PromiseMessage>());
    }
}
