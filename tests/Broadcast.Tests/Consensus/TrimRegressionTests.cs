using AtomicBcast.Consensus;
using AtomicBcast.Wire;
using Xunit.Abstractions;

namespace AtomicBcast.Tests.Consensus;

/// <summary>
/// Regressions for the review's S1 (a promise answered after a trim omitted a chosen vote) and L1 (a new leader
/// wedged when acceptors trimmed its first instances). Same hand-routed sequences as the review's demonstrations,
/// asserting the correct outcome: each failed on the code before the pin (acceptors keep the accepts a pending or
/// given promise covers until a commit advertisement at or above its ballot covers them).
/// </summary>
public sealed class TrimRegressionTests(ITestOutputHelper output)
{
    private const int Retained = 4;

    private static ConsensusOptions Options(ushort id) => new()
    {
        NodeId = id, Members = [1, 2, 3], Window = 8, RetainedInstances = Retained, CheckpointEveryInstances = 1000,
        PromiseChunkInstances = Limits.PromiseChunkRecordsMax, // the tests read one promise chunk of tiny batches
    };

    private static void Publish(Member leader, ulong producer, ulong seq, byte fill)
    {
        var run = BatchBuffer.CopyOf(TestHost.Run(producer, seq, 1, fill));
        leader.Publish((long)seq, new PublishMessage(producer, seq, 1, run));
        run.Release();
    }

    private static ReviewCluster ElectOne()
    {
        var c = new ReviewCluster(3, Options);
        c.Clock.NowMs = 1000;
        c[1].M.Tick(); // pre-vote
        c.Run(_ => true, 1, 2, 3);
        Assert.True(c[1].M.IsLeader);
        return c;
    }

    private static bool IsPromise(Wire w) => w.Message is string s && s.StartsWith("Promise");

    [Fact]
    public void PromiseAnsweredAfterALateCommitStillReportsEveryVote()
    {
        var c = ElectOne();
        var b0 = c[1].M.Promised;
        bool ToThree(Wire w) => w.To == 3 || w.From == 3;
        bool LateCommit(Wire w) => w.To == 2 && w.Message is HeartbeatMessage h && h.CommitUpTo >= Retained;
        for (ulong seq = 1; seq <= Retained + 1; seq++)
        {
            Publish(c[1].M, 7, seq, fill: (byte)seq);
            c.Run(w => !ToThree(w) && !LateCommit(w), 1, 2);
        }
        c.Drop(ToThree);
        Assert.Contains(c[1].Acks, a => a.Status == PublishStatus.Committed && a.FirstSeq == 1 && a.Position == 0);
        var acked = c[1].Delivered.Single(d => d.Instance == 0).Batch;
        Assert.Equal(Retained, c[2].M.NextInstance);
        var lateHeartbeat = c.Queue.Single(w => w.To == 2 && w.Message is HeartbeatMessage);
        c.Queue.Remove(lateHeartbeat);
        c.Drop(w => w.To == 2);

        // Leader 1 crashes with its accepts synced, its Chosen records lost.
        c[1].SyncedLsn = c[1].Records.Where(r => r.Kind == "accept").Max(r => r.Lsn);
        c.Restart(1, keepChosen: false);

        c.Clock.NowMs += 2000;
        c[3].M.Tick();
        c.Run(w => w.Message is PreVoteMessage or PreVoteReplyMessage, 3);
        Assert.Equal(Role.Candidate, c[3].M.Role);
        Assert.True(c[3].M.Promised > b0);
        c.Run(w => w.Message is PrepareMessage && w.To == 2);
        // The stale commit advertisement arrives while 2's promise waits for its sync: 2 delivers, but the pin keeps instance 0.
        lateHeartbeat.Deliver(c[2].M);
        Assert.Equal(Retained + 1, c[2].M.NextInstance);
        Assert.Equal(0, c[2].M.AcceptedFloor);
        c[2].Sync();
        var promise = c.Queue.Single(w => w.From == 2 && IsPromise(w));
        output.WriteLine($"2's promise: {promise.Message}");
        Assert.Contains($"0@{b0}", (string)promise.Message);

        c.Run(w => !(w.Message is PrepareMessage && w.To == 1), 1, 2, 3);
        Assert.True(c[3].M.IsLeader);
        c.Run(_ => true, 1, 2, 3);
        c.Clock.NowMs += 100;
        foreach (var n in c.Nodes) n.M.Tick();
        c.Run(_ => true, 1, 2, 3);

        // Agreement: every member that delivered instance 0 delivered the acked value, at position 0.
        foreach (var n in c.Nodes)
        {
            output.WriteLine($"m{n.Id}: " + string.Join(" ", n.Delivered.Select(d => $"i{d.Instance}@p{d.FirstPosition}")));
            foreach (var d in n.Delivered.Where(d => d.Instance == 0))
            {
                Assert.Equal(0, d.FirstPosition);
                Assert.True(d.Batch.AsSpan().SequenceEqual(acked), $"member {n.Id} delivered another value at instance 0");
            }
        }
        Assert.Contains(c[3].Delivered, d => d.Instance == 0);
        // Once the new leader's commit advertisement covers the pinned instances, they may be trimmed again (memory stays bounded).
        c.Clock.NowMs += 100;
        foreach (var n in c.Nodes) n.M.Tick();
        c.Run(_ => true, 1, 2, 3);
        Publish(c[3].M, 8, 1, fill: 50);
        c.Run(_ => true, 1, 2, 3);
        c.Clock.NowMs += 100;
        foreach (var n in c.Nodes) n.M.Tick();
        c.Run(_ => true, 1, 2, 3);
        Assert.True(c[2].M.AcceptedFloor > 0, "the pin was never released");
    }

    [Fact]
    public void NewLeaderProgressesWhenAcceptorsDeliveredItsFirstInstances()
    {
        var c = ElectOne();
        bool ToThree(Wire w) => w.To == 3 || w.From == 3;
        for (ulong seq = 1; seq <= 8; seq++) Publish(c[1].M, 7, seq, fill: (byte)seq);
        c.Run(w => !ToThree(w) && !(w.To == 2 && w.Message is HeartbeatMessage), 1, 2);
        c.Drop(ToThree);
        Assert.Equal(8, c[1].Delivered.Count);
        Assert.Equal(0, c[2].M.NextInstance);
        var late = c.Queue.Where(w => w.To == 2 && w.Message is HeartbeatMessage).MaxBy(w => ((HeartbeatMessage)w.Message).CommitUpTo)!;
        c.Queue.Clear();

        c.Clock.NowMs += 2000;
        c[3].M.Tick();
        c.Run(w => w.Message is PreVoteMessage or PreVoteReplyMessage, 3);
        Assert.Equal(Role.Candidate, c[3].M.Role);
        c.Run(w => w.Message is PrepareMessage || IsPromise(w), 1, 2, 3);
        Assert.True(c[3].M.IsLeader);
        late.Deliver(c[2].M);
        Assert.Equal(8, c[2].M.NextInstance);

        for (int t = 0; t < 2000; t++)
        {
            c.Clock.NowMs += 5;
            foreach (var n in c.Nodes) n.M.Tick();
            c.Run(_ => true, 1, 2, 3);
            if (t == 100) Publish(c[3].M, 9, 1, fill: 42);
        }
        output.WriteLine($"roles {c[1].M.Role}/{c[2].M.Role}/{c[3].M.Role}; next {c[1].M.NextInstance}/{c[2].M.NextInstance}/{c[3].M.NextInstance}");
        Assert.True(c[3].M.IsLeader);
        Assert.True(c[3].M.NextInstance >= 9, "the new leader delivered nothing");
        Assert.Contains(c[3].Acks, a => a.ProducerId == 9 && a.Status == PublishStatus.Committed);
        // Everybody agrees on what the old leader had acked: 3 delivered the same values at 0..7.
        foreach (var d in c[1].Delivered)
            Assert.True(c[3].Delivered.Single(x => x.Instance == d.Instance).Batch.AsSpan().SequenceEqual(d.Batch));
    }

    /// <summary>An Accept for an instance the acceptor delivered and trimmed is answered (not dropped) with the floor below
    /// which everything is chosen (or with the chosen value while it is still held, which needs a pin: see the sim's trimmed configs).</summary>
    [Fact]
    public void AcceptBelowTheFloorIsAnswered()
    {
        var c = ElectOne();
        for (ulong seq = 1; seq <= 12; seq++)
        {
            Publish(c[1].M, 7, seq, fill: (byte)seq);
            c.Run(_ => true, 1, 2, 3);
        }
        c.Clock.NowMs += 100;
        foreach (var n in c.Nodes) n.M.Tick();
        c.Run(_ => true, 1, 2, 3);
        Assert.Equal(12, c[2].M.NextInstance);
        long floor = c[2].M.AcceptedFloor;
        Assert.True(floor > 1, $"floor {floor}");
        var higher = Ballot.Create(c[2].M.Promised.Round + 1, 3);
        c[2].LogTrimmedBelow = floor; // its log too lost them (else it answers with the chosen values read from it)
        var batch = BatchBuffer.CopyOf(TestHost.Run(9, 1, 1, 1));
        c[2].M.Receive(3, new AcceptMessage(higher, 0, -1, batch));
        c[2].M.Receive(3, new AcceptMessage(higher, floor - 1, -1, batch));
        batch.Release();
        var replies = c.Queue.Where(w => w.From == 2 && w.To == 3).Select(w => w.Message.ToString()!).ToList();
        output.WriteLine(string.Join("\n", replies));
        // Trimmed names the next instance: everything below it is chosen (it delivered all of it).
        Assert.Contains($"FetchReply {c[2].M.NextInstance} Trimmed", replies[0]);
        Assert.Contains($"FetchReply {c[2].M.NextInstance} Trimmed", replies[1]);
        Assert.Equal(2, replies.Count); // and nothing else: no vote below the floor
    }
}
