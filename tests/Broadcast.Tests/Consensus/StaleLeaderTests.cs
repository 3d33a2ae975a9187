using AtomicBcast.Consensus;
using AtomicBcast.Wire;
using Xunit.Abstractions;

namespace AtomicBcast.Tests.Consensus;

/// <summary>
/// A stale leader (ballot b) learns by fetch a value a higher ballot b' chose for an instance it had proposed itself.
/// Its commit must never move over that instance at b: a follower holding only the stale accept (b, v_b) would take the
/// advertisement as proof that v_b was chosen (second review, F1). The stale leader steps down instead.
/// </summary>
public sealed class StaleLeaderTests(ITestOutputHelper output)
{
    private static void Publish(Member leader, ulong producer, ulong seq, byte fill)
    {
        var run = BatchBuffer.CopyOf(TestHost.Run(producer, seq, 1, fill));
        leader.Publish((long)seq, new PublishMessage(producer, seq, 1, run));
        run.Release();
    }

    /// <summary>Every member that delivered <paramref name="instance"/> delivered the same value, and at least <paramref name="atLeast"/> did.</summary>
    private void AssertAgreement(ReviewCluster c, long instance, int atLeast)
    {
        foreach (var n in c.Nodes)
            output.WriteLine($"m{n.Id} role {n.M.Role}: " + string.Join(" ", n.Delivered.Select(d => $"i{d.Instance}:{d.Batch[^1]}")));
        var values = c.Nodes.SelectMany(n => n.Delivered.Where(d => d.Instance == instance).Select(d => (n.Id, d.Batch))).ToList();
        Assert.True(values.Count >= atLeast, $"{values.Count} members delivered instance {instance}");
        foreach (var (id, batch) in values)
            Assert.True(batch.AsSpan().SequenceEqual(values[0].Batch), $"member {id} delivered another value at instance {instance}");
    }

    /// <summary>5 members: a delayed fetch answer brings the higher ballot's value to the stale leader.</summary>
    [Fact]
    public void StaleLeaderFetchingAHigherBallotsValueStepsDown()
    {
        var c = new ReviewCluster(5, id => new ConsensusOptions
        {
            NodeId = id, Members = [1, 2, 3, 4, 5], Window = 8, RetainedInstances = 4, CheckpointEveryInstances = 1000,
        });
        c.Clock.NowMs = 1000;
        c[1].M.Tick();
        c.Run(_ => true, 1, 2, 3, 4, 5);
        Assert.True(c[1].M.IsLeader);
        var b = c[1].M.Promised;

        // 1 proposes v_b at instance 0: only 1 and 3 accept it (not chosen).
        Publish(c[1].M, 7, 1, fill: 11);
        c.Run(w => (w.From == 1 && w.To == 3) || (w.From == 3 && w.To == 1), 1, 3);
        c.Drop(w => true);
        Assert.Equal(-1, c[1].M.ChosenUpTo);

        // 4 is elected at b' > b by {2, 4, 5} and chooses v' at instance 0.
        c.Clock.NowMs += 2000;
        bool In(ushort id) => id is 2 or 4 or 5;
        c[4].M.Tick();
        c.Run(w => In(w.From) && In(w.To), 2, 4, 5);
        Assert.True(c[4].M.IsLeader);
        Assert.True(c[4].M.Promised > b);
        Publish(c[4].M, 8, 1, fill: 22);
        c.Run(w => In(w.From) && In(w.To), 2, 4, 5);
        c.Drop(w => true);
        Assert.Equal(1, c[4].M.NextInstance);

        // A fetch 1 sent earlier (delayed by the network) reaches 4: 4 answers with the chosen value v'.
        c[4].M.Receive(1, new FetchMessage(0, 64, 8 << 20));
        c.Run(w => w.From == 4 && w.To == 1, 1);
        c[1].M.Tick();
        output.WriteLine("queue: " + string.Join(" | ", c.Queue.Select(w => w.ToString())));
        // Whatever 1 now sends reaches 3, which holds (b, 0, v_b).
        c.Run(w => w.From == 1 && w.To == 3, 3);

        AssertAgreement(c, 0, atLeast: 4); // 1, 2, 4, 5 delivered v'; 3 must not have delivered v_b
        Assert.False(c[1].M.IsLeader, "the stale leader still leads after delivering a higher ballot's value");
        Assert.True(c[1].Delivered.Single(d => d.Instance == 0).Batch.AsSpan().SequenceEqual(c[4].Delivered.Single(d => d.Instance == 0).Batch));
    }

    /// <summary>7 members: the stale leader learns that instance 0 is chosen from a Trimmed answer to its delayed Accept,
    /// then fetches the higher ballot's value.</summary>
    [Fact]
    public void StaleLeaderLearningFromATrimmedAnswerStepsDown()
    {
        var c = new ReviewCluster(7, id => new ConsensusOptions
        {
            NodeId = id, Members = [1, 2, 3, 4, 5, 6, 7], Window = 8, RetainedInstances = id == 7 ? 4 : 64, CheckpointEveryInstances = 1000,
        });
        var all = new[] { 1, 2, 3, 4, 5, 6, 7 };
        c.Clock.NowMs = 1000;
        c[1].M.Tick();
        c.Run(_ => true, all);
        Assert.True(c[1].M.IsLeader);
        var b = c[1].M.Promised;

        // 1 proposes v_b at instance 0: 1 and 3 accept it; its Accept to 7 is delayed; the rest are lost.
        Publish(c[1].M, 7, 1, fill: 11);
        var delayed = c.Queue.Single(w => w.From == 1 && w.To == 7 && w.Message is string s && s.StartsWith("Accept"));
        c.Queue.Remove(delayed);
        c.Run(w => (w.From == 1 && w.To == 3) || (w.From == 3 && w.To == 1), 1, 3);
        c.Drop(w => true);

        // 4 elected at b' by {2,4,5,6}; chooses v' at 0 and more.
        c.Clock.NowMs += 2000;
        bool In(ushort id) => id is 2 or 4 or 5 or 6;
        c[4].M.Tick();
        c.Run(w => In(w.From) && In(w.To), 2, 4, 5, 6);
        Assert.True(c[4].M.IsLeader);
        for (ulong s = 1; s <= 6; s++)
        {
            Publish(c[4].M, 8, s, fill: (byte)(20 + s));
            c.Run(w => In(w.From) && In(w.To), 2, 4, 5, 6);
        }
        // 7 (promised b only) hears 4's heartbeats (not its Accepts) and catches up by fetch; it trims 0.
        c.Drop(w => !(In(w.From) && In(w.To)));
        c.Clock.NowMs += 100;
        c[4].M.Tick();
        c.Run(w => (w.From == 4 && w.To == 7 && w.Message is HeartbeatMessage) || (w.To == 7 || w.From == 7) && w.Message is not HeartbeatMessage && !(w.Message is string a2 && a2.StartsWith("Accept")), 7);
        output.WriteLine($"7: next {c[7].M.NextInstance} floor {c[7].M.AcceptedFloor} promised {c[7].M.Promised} (b={b})");
        Assert.True(c[7].M.AcceptedFloor > 0, "7 did not trim instance 0: the scenario no longer applies");
        Assert.True(c[7].M.Promised == b, "7 promised a higher ballot: the scenario no longer applies");
        c.Drop(w => true);

        // The delayed Accept(b, 0) reaches 7: Trimmed answer to 1, which raises 1's chosenUpTo; 1 fetches from 5.
        delayed.Deliver(c[7].M);
        c.Run(w => w.From == 7 && w.To == 1, 1);
        for (int t = 0; t < 20 && c[1].M.NextInstance == 0; t++)
        {
            c.Run(w => (w.From == 1 && w.To == 5 && w.Message is FetchMessage) || (w.From == 5 && w.To == 1), 1);
            c.Drop(w => w.Message is FetchMessage);
            c.Clock.NowMs += 101;
            c[1].M.Tick();
        }
        Assert.True(c[1].M.NextInstance > 0, "the stale leader never learned instance 0: the scenario no longer applies");
        c.Clock.NowMs += 60;
        c[1].M.Tick();
        // Whatever 1 now sends (a heartbeat with its commit) reaches 3, which holds (b, 0, v_b).
        c.Run(w => w.From == 1 && w.To == 3, 3);

        AssertAgreement(c, 0, atLeast: 6); // 1, 2, 4, 5, 6, 7 delivered v'; 3 must not have delivered v_b
        Assert.False(c[1].M.IsLeader, "the stale leader still leads after delivering a higher ballot's value");
    }
}
