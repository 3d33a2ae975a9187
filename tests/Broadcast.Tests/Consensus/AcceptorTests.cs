using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

public sealed class AcceptorTests
{
    private readonly ManualClock _clock = new();
    private readonly TestHost _host = new();

    [Fact]
    public void AcceptedIsSentOnlyAfterTheAcceptIsDurable()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        var ballot = Ballot.Create(1, 1);
        var batch = TestHost.Batch(0, 1, 1);
        member.Receive(1, new AcceptMessage(ballot, 0, -1, batch));
        Assert.Contains("accept 0 1.1", _host.Log);
        Assert.Empty(_host.SentOf<AcceptedMessage>());
        member.Durable(_host.Lsn);
        Assert.Equal([(1, new AcceptedMessage(ballot, 0, 0))], _host.SentTo<AcceptedMessage>().Select(s => ((int)s.To, s.Message)));
    }

    [Fact]
    public void ConsecutiveDurableAcceptsAreAnsweredAsOneRange()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        var ballot = Ballot.Create(1, 1);
        for (int i = 0; i < 3; i++) member.Receive(1, new AcceptMessage(ballot, i, -1, TestHost.Batch(0, 1, 1)));
        member.Durable(_host.Lsn);
        Assert.Equal([new AcceptedMessage(ballot, 0, 2)], _host.SentOf<AcceptedMessage>());
    }

    [Fact]
    public void LowerBallotIsRejectedWithThePromise()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        var high = Ballot.Create(5, 3);
        member.Receive(3, new PrepareMessage(high, 0));
        member.Durable(_host.Lsn);
        Assert.Single(_host.SentOf<PromiseMessage>());
        var low = Ballot.Create(4, 1);
        member.Receive(1, new AcceptMessage(low, 0, -1, TestHost.Batch(0, 1, 1)));
        Assert.Equal([new RejectedMessage(low, 0, high)], _host.SentOf<RejectedMessage>());
        Assert.DoesNotContain(_host.Log, l => l.StartsWith("accept"));
    }

    [Fact]
    public void PromiseIsDurableBeforeItIsAnsweredAndReportsAcceptsInChunks()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        var old = Ballot.Create(1, 1);
        member.Receive(1, new AcceptMessage(old, 3, -1, TestHost.Batch(0, 1, 1)));
        var ballot = Ballot.Create(2, 3);
        member.Receive(3, new PrepareMessage(ballot, 0));
        Assert.Equal(old, member.Promised); // leader 1 is alive: no promise to another
        _clock.NowMs += 1000;
        member.Receive(3, new PrepareMessage(ballot, 0));
        Assert.Empty(_host.SentOf<PromiseMessage>());
        member.Durable(_host.Lsn);
        var promise = Assert.Single(_host.SentOf<PromiseMessage>());
        Assert.True(promise.Last);
        var record = Assert.Single(promise.Records);
        Assert.Equal((3L, old), (record.Instance, record.AcceptedBallot));
        Assert.Equal(ballot, member.Promised);
    }

    [Fact]
    public void SameBallotWithAnotherValueForOneInstanceBreaksAnInvariant()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        var ballot = Ballot.Create(1, 1);
        member.Receive(1, new AcceptMessage(ballot, 0, -1, TestHost.Batch(0, 1, 1, fill: 1)));
        Assert.Throws<InvariantViolationException>(() => member.Receive(1, new AcceptMessage(ballot, 0, -1, TestHost.Batch(0, 1, 1, fill: 2))));
    }

    [Fact]
    public void LearnerDeliversOwnAcceptOnlyUnderTheCommittingBallot()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        member.Receive(1, new AcceptMessage(Ballot.Create(1, 1), 0, -1, TestHost.Batch(0, 1, 1)));
        // Chosen up to 0, but under ballot 2.3, which we never accepted: the value must be fetched, not taken from our log.
        member.Receive(3, new HeartbeatMessage(Ballot.Create(2, 3), 0));
        Assert.Empty(_host.Delivered);
        Assert.Single(_host.SentOf<FetchMessage>());
        member.Receive(3, new HeartbeatMessage(Ballot.Create(1, 1), 0));
        Assert.Empty(_host.Delivered);
    }
}
