using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

public sealed class RestartTests
{
    [Fact]
    public void RestartRebuildsPromiseAcceptsAndRedeliversFromTheCheckpointAtTheSamePositions()
    {
        var clock = new ManualClock();
        var host = new TestHost();
        var promised = Ballot.Create(4, 3);
        var recovered = new RecoveredState
        {
            Promised = promised,
            Accepts = [new LogValue(7, Ballot.Create(3, 1), TestHost.Batch(0, 1, 1))],
            // Instances 0..4 delivered before the crash; the checkpoint covers 0..2 and producer 9 up to seq 5.
            Checkpoint = new Checkpoint(2, NextPosition: 10, [new ProducerEntry(9, 5, 2)]),
            Chosen = [new LogValue(3, Ballot.Create(3, 1), TestHost.Batch(9, 6, 2)), new LogValue(4, Ballot.Create(3, 1), TestHost.Batch(9, 6, 2))],
        };
        var member = new Member(new ConsensusOptions { NodeId = 2, Members = [1, 2, 3], PromiseChunkInstances = Limits.PromiseChunkRecordsMax }, host, host, clock, new Random(1), recovered);
        Assert.Equal(promised, member.Promised);
        member.Tick();
        // 3 is delivered at position 10 (seqs 6, 7); 4 repeats the run, so it is a duplicate and takes no position.
        Assert.Equal([(3L, 10L), (4L, 12L)], host.Delivered.Select(d => (d.Instance, d.FirstPosition)));
        Assert.Equal([0], host.Delivered[1].SkippedRuns.Select(r => (int)r));
        Assert.Equal(12L, member.NextPosition);
        // A prepare below the recovered promise is rejected with it.
        member.Receive(1, new PrepareMessage(Ballot.Create(4, 1), 5));
        Assert.Equal(promised, host.SentOf<RejectedMessage>().Single().Promised);
    }

    [Fact]
    public void RecoveredAcceptedFloorRefusesPreparesBelowItAndDropsAcceptsBelowIt()
    {
        var clock = new ManualClock();
        var host = new TestHost();
        var recovered = new RecoveredState
        {
            Promised = Ballot.Create(3, 1),
            // The log dropped every accept below 5 (instance 3's record survived a partial trim: it must not be reported).
            AcceptedFloor = 5,
            Checkpoint = new Checkpoint(4, 0, []), // a floor never lies above the checkpoint's next instance
            Accepts = [new LogValue(3, Ballot.Create(3, 1), TestHost.Batch(0, 1, 1)), new LogValue(7, Ballot.Create(3, 1), TestHost.Batch(0, 1, 1))],
        };
        var member = new Member(new ConsensusOptions { NodeId = 2, Members = [1, 2, 3], PromiseChunkInstances = Limits.PromiseChunkRecordsMax }, host, host, clock, new Random(1), recovered);
        Assert.Equal(5, member.AcceptedFloor);
        member.Receive(3, new PrepareMessage(Ballot.Create(4, 3), 0));
        member.Durable(host.Lsn);
        Assert.Empty(host.SentOf<PromiseMessage>()); // it could not report instance 3's vote (nor others it dropped)
        member.Receive(3, new PrepareMessage(Ballot.Create(5, 3), 5));
        member.Durable(host.Lsn);
        var promise = host.SentOf<PromiseMessage>().Single();
        Assert.Equal([7L], promise.Records.Select(r => r.Instance));
    }
}
