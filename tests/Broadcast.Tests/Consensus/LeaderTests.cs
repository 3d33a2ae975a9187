using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

public sealed class LeaderTests
{
    private readonly ManualClock _clock = new();
    private readonly TestHost _host = new();

    /// <summary>Drives member 1 of 3 through pre-vote and the durable round record up to its Prepare.</summary>
    private Member Candidate()
    {
        var member = TestHost.Create(_host, _clock);
        _clock.NowMs = 1000;
        member.Tick();
        var preVote = _host.SentOf<PreVoteMessage>().First();
        member.Receive(2, new PreVoteReplyMessage(preVote.Ballot, true, 0));
        Assert.Equal(Role.Candidate, member.Role);
        Assert.Empty(_host.SentOf<PrepareMessage>()); // the round is not durable yet
        member.Durable(_host.Lsn);
        Assert.Equal(2, _host.SentOf<PrepareMessage>().Count());
        return member;
    }

    [Fact]
    public void PhaseOneReproposesTheHighestBallotValueAndFillsGapsWithNoOps()
    {
        var member = Candidate();
        var ballot = _host.SentOf<PrepareMessage>().First().Ballot;
        var older = TestHost.Batch(0, 1, 1, fill: 1);
        var newer = TestHost.Batch(0, 1, 1, fill: 2);
        var far = TestHost.Batch(0, 1, 1, fill: 3);
        member.Receive(2, new PromiseMessage(ballot, 0, false, [new PromiseRecord(0, Ballot.Create(0, 2), older)]));
        Assert.Equal(Role.Candidate, member.Role);
        // Chunks are taken in any order (the network may reorder them): member 3's last chunk arrives before its first,
        // and its promise counts only once both are in.
        member.Receive(3, new PromiseMessage(ballot, 256, true, [new PromiseRecord(300, Ballot.Create(0, 3), far)]));
        Assert.Equal(Role.Candidate, member.Role);
        member.Receive(3, new PromiseMessage(ballot, 256, true, [new PromiseRecord(300, Ballot.Create(0, 3), far)])); // a duplicate changes nothing
        Assert.Equal(Role.Candidate, member.Role);
        member.Receive(3, new PromiseMessage(ballot, 0, false, [new PromiseRecord(0, Ballot.Create(0, 3), newer), new PromiseRecord(2, Ballot.Create(0, 3), far)]));
        Assert.Equal(Role.Leader, member.Role);
        var accepts = _host.SentTo<AcceptMessage>().Where(a => a.To == 2).Select(a => a.Message).ToList();
        Assert.Equal([0L, 1L, 2L, 3L], accepts.Select(a => a.Instance)); // re-proposals through 300; the window holds 4
        Assert.Equal(newer.Span.ToArray(), accepts[0].Batch.Span.ToArray());
        Assert.True(BatchHeader.Read(accepts[1].Batch.Span).IsNoOp);
        Assert.Equal(far.Span.ToArray(), accepts[2].Batch.Span.ToArray());
        Assert.True(BatchHeader.Read(accepts[3].Batch.Span).IsNoOp);
    }

    [Fact]
    public void APromiseMissingAMiddleChunkDoesNotCount()
    {
        var member = Candidate();
        var ballot = _host.SentOf<PrepareMessage>().First().Ballot;
        member.Receive(2, new PromiseMessage(ballot, 0, false, []));
        member.Receive(2, new PromiseMessage(ballot, 512, true, []));
        Assert.Equal(Role.Candidate, member.Role); // chunk 256 never came
        member.Receive(2, new PromiseMessage(ballot, 100, false, [])); // not a chunk boundary of our from: ignored
        Assert.Equal(Role.Candidate, member.Role);
        member.Receive(2, new PromiseMessage(ballot, 256, false, []));
        Assert.Equal(Role.Leader, member.Role);
    }

    [Fact]
    public void PublishedRunsAreBatchedCommittedDeliveredAndAcked()
    {
        var member = Candidate();
        var ballot = _host.SentOf<PrepareMessage>().First().Ballot;
        member.Receive(2, new PromiseMessage(ballot, 0, true, []));
        Assert.True(member.IsLeader);
        for (ulong seq = 1; seq <= 10; seq++)
        {
            var run = BatchBuffer.CopyOf(TestHost.Run(42, seq, 1));
            member.Publish(100 + (long)seq, new PublishMessage(42, seq, 1, run));
            run.Release();
        }
        // Window 4: four instances of one run each went out, the six other runs wait for room.
        Assert.Equal(4, _host.SentTo<AcceptMessage>().Count(a => a.To == 2));
        member.Durable(_host.Lsn);
        member.Receive(2, new AcceptedMessage(ballot, 0, 3));
        Assert.Equal(4, _host.Delivered.Count);
        Assert.Equal([0L, 1L, 2L, 3L], _host.Delivered.Select(d => d.FirstPosition));
        // The six waiting runs close into one batch as soon as the window has room.
        var fifth = _host.SentTo<AcceptMessage>().Where(a => a.To == 2).Select(a => a.Message).Last();
        Assert.Equal(4L, fifth.Instance);
        Assert.Equal(6, BatchHeader.Read(fifth.Batch.Span).RunCount);
        Assert.Equal([101L, 102L, 103L, 104L], _host.Acks.Select(a => a.Client));
        Assert.All(_host.Acks, a => Assert.Equal(PublishStatus.Committed, a.Ack.Status));
    }

    [Fact]
    public void LeaderStepsDownOnAHigherBallot()
    {
        var member = Candidate();
        var ballot = _host.SentOf<PrepareMessage>().First().Ballot;
        member.Receive(2, new PromiseMessage(ballot, 0, true, []));
        Assert.True(member.IsLeader);
        member.Receive(3, new RejectedMessage(ballot, 0, Ballot.Create(ballot.Round + 1, 3)));
        Assert.Equal(Role.Follower, member.Role);
    }

    [Fact]
    public void MemberHearingALiveLeaderRefusesPreVoteAndPromise()
    {
        var member = TestHost.Create(_host, _clock, id: 2);
        member.Receive(1, new HeartbeatMessage(Ballot.Create(1, 1), -1));
        member.Receive(3, new PreVoteMessage(Ballot.Create(2, 3), 0, -1));
        Assert.False(_host.SentOf<PreVoteReplyMessage>().Single().Granted);
        member.Receive(3, new PrepareMessage(Ballot.Create(2, 3), 0));
        Assert.Equal(Ballot.Zero, member.Promised);
        _clock.NowMs += 1000;
        member.Receive(3, new PreVoteMessage(Ballot.Create(2, 3), 0, -1));
        Assert.True(_host.SentOf<PreVoteReplyMessage>().Last().Granted);
    }
}
