using AtomicBcast.Consensus;
using AtomicBcast.Node;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Tests.Consensus;
using AtomicBcast.Tests.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// Third review, U1: a log written by the binary before the catch-up change (7d1211a) may hold, for an instance it
/// delivered, a stale accept AFTER the chosen record (the old OnAccept voted for delivered instances: a stale leader at a
/// ballot between our promise and the ballot that chose overwrote the index's latest record). Its checkpoints have no
/// LogValuesFrom; read as 0 the upgraded member served that stale, never-chosen value to a peer as Chosen. Read as
/// "the instance after the checkpoint", nothing the old binary wrote is served from the log.
/// </summary>
public class PreCatchupLogTests
{
    [Fact]
    public async Task APreCatchupLogNeverServesAnAcceptAtOrBelowItsCheckpointAsChosen()
    {
        var device = new SimulatedLogDevice();
        var chosenBallot = Ballot.Create(3, 2);   // leader 2 chose v at instance 5 (with member 1), member 3 not in its quorum
        var staleBallot = Ballot.Create(2, 1);    // member 3's promise: stale leader 1
        var v = TestHost.Batch(7, 1, 1, fill: 0xAA);
        var w = TestHost.Batch(9, 1, 1, fill: 0xBB);
        using (var log = LogTestKit.Open(device))
        {
            // What the OLD binary (7d1211a) wrote on member 3:
            await log.AppendPromiseAsync(staleBallot);
            for (ulong i = 0; i < 5; i++) await log.AppendAcceptAsync(i, staleBallot, v); // instances 0..4 (values do not matter)
            // m3 learns instance 5 chosen at (3,2) by heartbeat + fetch and delivers it: AppendChosen = accept record at (3,2).
            await log.AppendAcceptAsync(5, chosenBallot, v);
            // Leader 1's delayed Accept((2,1), 5, w) arrives: (2,1) >= m3's promise, 5 >= floor, so the old OnAccept votes:
            // the latest (indexed) record of instance 5 is now (2,1, w). (The old ConsensusLog wrote no promise record here.)
            await log.AppendAcceptAsync(5, staleBallot, w);
            for (ulong i = 6; i < 8; i++) await log.AppendAcceptAsync(i, chosenBallot, v);
            // m3 delivers through 7 and writes its checkpoint in the old format: the producer table only (no LogValuesFrom).
            await log.AppendCheckpointAsync(7, 8, new byte[4]);
        }

        // The upgraded binary restarts on that log.
        using var reopened = LogTestKit.Open(LogTestKit.Copy(device));
        var recovered = ConsensusLog.Recover(reopened, retainedInstances: 100);
        Assert.Equal(8, recovered.Checkpoint!.LogValuesFrom); // old format: nothing at or below the checkpoint is served
        var host = new TestHost();
        var member = new Member(new ConsensusOptions { NodeId = 3, Members = [1, 2, 3], RetainedInstances = 100 },
            new ConsensusLog(reopened), host, new ManualClock(), new Random(1), recovered);
        Assert.Equal(8, member.NextInstance);

        // A peer behind fetches instance 5 from member 3: never w as Chosen (the stale accept), never any value as Chosen.
        member.Receive(1, new FetchMessage(5, 1, 1 << 20));
        Assert.DoesNotContain(host.SentOf<FetchReplyMessage>(), r => r.Status == FetchStatus.Chosen);
        v.Release();
        w.Release();
    }
}
