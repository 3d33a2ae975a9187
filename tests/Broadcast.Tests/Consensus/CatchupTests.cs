using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

/// <summary>
/// Catch-up beyond what a member keeps in memory: fetches of delivered instances served from the log, a checkpoint sent to
/// a peer asking below the log's floor, the learner's jump to a peer's checkpoint, and the acceptor's answer to an Accept
/// for an instance it delivered (the value, never a vote that could overwrite the chosen value in its log).
/// </summary>
public class CatchupTests
{
    private static readonly Ballot s_chosenBallot = Ballot.Create(4, 2);

    /// <summary>A member restarted from a checkpoint at instance 63 (next 64, position 500, producer 7 at seq 4) that holds
    /// nothing in memory: its log is <see cref="TestHost.LogValues"/>.</summary>
    private static (Member Member, TestHost Host) Restarted(long logValuesFrom = 0)
    {
        var host = new TestHost();
        var checkpoint = new Checkpoint(63, 500, [new ProducerEntry(7, 4, 60)]) { LogValuesFrom = logValuesFrom };
        var member = new Member(new ConsensusOptions { NodeId = 1, Members = [1, 2, 3], RetainedInstances = 16 }, host, host, new ManualClock(),
            new Random(1), new RecoveredState { Promised = Ballot.Create(3, 3), Checkpoint = checkpoint, AcceptedFloor = 48 });
        return (member, host);
    }

    private static byte[] Bytes(ulong producer, ulong seq, int count)
    {
        var batch = TestHost.Batch(producer, seq, count);
        var bytes = batch.Span.ToArray();
        batch.Release();
        return bytes;
    }

    [Fact]
    public void DeliveredInstancesNoLongerInMemoryAreServedFromTheLog()
    {
        var (member, host) = Restarted();
        host.LogValues[40] = (s_chosenBallot, Bytes(7, 1, 2));
        host.LogValues[41] = (s_chosenBallot, Bytes(7, 3, 2));
        member.Receive(2, new FetchMessage(40, 4, 1 << 20)); // 42 is in neither: Trimmed, naming the floor (48)
        var replies = host.SentTo<FetchReplyMessage>().Select(s => s.Message).ToList();
        Assert.Equal([(40L, FetchStatus.Chosen), (41L, FetchStatus.Chosen), (48L, FetchStatus.Trimmed)], replies.Select(r => (r.Instance, r.Status)));
        Assert.Equal(host.LogValues[41].Bytes, replies[1].Batch!.Span.ToArray());
        Assert.Equal(s_chosenBallot, replies[0].Ballot);
        Assert.Equal(2, member.Catchup.LogServed);
    }

    [Fact]
    public void InstancesNotDeliveredAreNeverServedFromTheLog()
    {
        var (member, host) = Restarted();
        host.LogValues[64] = (s_chosenBallot, Bytes(7, 5, 1)); // an accept: not known chosen here
        member.Receive(2, new FetchMessage(64, 4, 1 << 20));
        Assert.Equal(FetchStatus.Unknown, Assert.Single(host.SentOf<FetchReplyMessage>()).Status);
        Assert.Empty(host.SentOf<CheckpointMessage>());
    }

    [Fact]
    public void AFetchBelowWhatTheLogHoldsGetsTheLatestCheckpoint()
    {
        var (member, host) = Restarted();
        member.Receive(2, new FetchMessage(10, 4, 1 << 20));
        var (to, checkpoint) = Assert.Single(host.SentTo<CheckpointMessage>());
        Assert.Equal(2, to);
        Assert.Equal((63L, 500L), (checkpoint.Instance, checkpoint.NextPosition));
        Assert.Equal([new ProducerRecord(7, 4, 60)], checkpoint.Producers);
        Assert.Empty(host.SentOf<FetchReplyMessage>());
    }

    [Fact]
    public void TheLearnerJumpsToAPeersCheckpointAndDeliversOnFromThere()
    {
        var host = new TestHost();
        var clock = new ManualClock();
        var member = TestHost.Create(host, clock);
        member.Receive(2, new CheckpointMessage(63, 500, [new ProducerRecord(7, 4, 60)]));
        Assert.Equal((64L, 500L), (member.NextInstance, member.NextPosition));
        Assert.Equal([(63L, 500L)], host.Jumps);
        var written = Assert.Single(host.Checkpoints);
        Assert.Equal((63L, 500L, 64L), (written.Instance, written.NextPosition, written.LogValuesFrom)); // a restart starts after the jump
        Assert.Equal(0, member.AcceptedFloor); // the acceptor is untouched

        // The producer table came along: seq 5 is next (delivered), a retry of seq 3..4 is a duplicate (skipped).
        var leader = Ballot.Create(9, 2);
        var next = TestHost.Batch(7, 5, 2);
        var retry = TestHost.Batch(7, 3, 2);
        member.Receive(2, new AcceptMessage(leader, 64, 63, next));
        member.Receive(2, new AcceptMessage(leader, 65, 63, retry));
        member.Receive(2, new HeartbeatMessage(leader, 65));
        next.Release();
        retry.Release();
        Assert.Equal([(64L, 500L, 0), (65L, 502L, 1)], host.Delivered.Select(d => (d.Instance, d.FirstPosition, d.SkippedRuns.Length)));
        Assert.Equal(502, member.NextPosition);

        // A stale checkpoint (below what we delivered) changes nothing.
        member.Receive(3, new CheckpointMessage(63, 500, []));
        Assert.Single(host.Jumps);
        Assert.Equal(66, member.NextInstance);
    }

    [Fact]
    public void InstancesJumpedOverAreNeverServedFromTheLog()
    {
        var host = new TestHost();
        var member = TestHost.Create(host, new ManualClock());
        host.LogValues[10] = (Ballot.Create(1, 3), Bytes(9, 1, 1)); // an accept taken before the jump: maybe never chosen
        member.Receive(2, new CheckpointMessage(63, 500, []));
        member.Receive(3, new FetchMessage(10, 4, 1 << 20));
        var reply = Assert.Single(host.SentOf<FetchReplyMessage>()); // Unknown: the peer asks elsewhere
        Assert.Equal((10L, FetchStatus.Unknown), (reply.Instance, reply.Status));
    }

    [Fact]
    public void AfterARestartFromAJumpedCheckpointTheLogServesOnlyFromItsLogValuesFrom()
    {
        var (member, host) = Restarted(logValuesFrom: 50);
        host.LogValues[49] = (s_chosenBallot, Bytes(7, 1, 1));
        host.LogValues[50] = (s_chosenBallot, Bytes(7, 2, 1));
        member.Receive(2, new FetchMessage(50, 1, 1 << 20));
        Assert.Equal(FetchStatus.Chosen, Assert.Single(host.SentOf<FetchReplyMessage>()).Status);
        member.Receive(2, new FetchMessage(49, 1, 1 << 20));
        Assert.Equal(FetchStatus.Unknown, host.SentOf<FetchReplyMessage>().Last().Status);
        member.Receive(2, new FetchMessage(47, 1, 1 << 20)); // below the acceptor's floor (48): our checkpoint
        Assert.Single(host.SentOf<CheckpointMessage>());
    }

    [Fact]
    public void ALeaderThatJumpsStepsDown()
    {
        var host = new TestHost();
        var clock = new ManualClock();
        var member = TestHost.Create(host, clock);
        clock.NowMs = 1000;
        member.Tick(); // pre-vote
        member.Receive(2, new PreVoteReplyMessage(host.SentOf<PreVoteMessage>().First().Ballot, true, 0));
        member.Durable(host.Lsn); // the round is durable: Prepare goes out
        var prepare = host.SentOf<PrepareMessage>().First();
        member.Receive(2, new PromiseMessage(prepare.Ballot, 0, true, []));
        Assert.True(member.IsLeader);
        member.Receive(3, new CheckpointMessage(63, 500, []));
        Assert.False(member.IsLeader);
        Assert.Equal(64, member.NextInstance);
    }

    [Fact]
    public void AnAcceptForADeliveredInstanceIsAnsweredWithItsValueNotVoted()
    {
        var (member, host) = Restarted();
        host.LogValues[55] = (s_chosenBallot, Bytes(7, 2, 1));
        var stale = TestHost.Batch(8, 1, 1);
        // A stale leader below the ballot that chose instance 55 (but at our promise): a vote would overwrite the chosen
        // value in our log with its own.
        member.Receive(3, new AcceptMessage(Ballot.Create(3, 3), 55, -1, stale));
        stale.Release();
        Assert.DoesNotContain(host.Log, l => l.StartsWith("accept 55", StringComparison.Ordinal));
        Assert.Empty(host.SentOf<AcceptedMessage>());
        var reply = Assert.Single(host.SentTo<FetchReplyMessage>());
        Assert.Equal((3, 55L, FetchStatus.Chosen, s_chosenBallot), (reply.To, reply.Message.Instance, reply.Message.Status, reply.Message.Ballot));
        Assert.Equal(1, member.Catchup.AcceptsDelivered);
    }
}
