using AtomicBcast.Consensus;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Tests.Consensus;
using AtomicBcast.Tests.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// The accepted floor a restarted member gets from its log (second review, F2): every accept below it is either trimmed
/// from the log or not handed over, so the acceptor must refuse Prepares below it rather than promise without those votes.
/// </summary>
public class ConsensusLogRecoveryTests
{
    private const int Accepts = 1500;
    private const long CheckpointInstance = 999;

    private static async Task<(SimulatedLogDevice Device, GroupCommitLog Log)> Filled()
    {
        var device = new SimulatedLogDevice();
        var log = LogTestKit.Open(device, indexCapacity: 4096);
        for (ulong instance = 0; instance < Accepts; instance++)
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(5, instance));
        await log.AppendCheckpointAsync(CheckpointInstance, 7000, ProducerTableCodec.Encode([]));
        return (device, log);
    }

    private static long RecoveredFloor(GroupCommitLog log, long retainedInstances)
    {
        var state = ConsensusLog.Recover(log, retainedInstances);
        Assert.Equal(CheckpointInstance, state.Checkpoint!.Instance);
        Assert.All(state.Accepts, a => Assert.True(a.Instance >= state.AcceptedFloor, $"accept {a.Instance} below floor {state.AcceptedFloor}"));
        Assert.Equal(Accepts - state.AcceptedFloor, state.Accepts.Count); // every accept from the floor up is handed over
        foreach (var a in state.Accepts) a.Batch.Release();
        return state.AcceptedFloor;
    }

    [Fact]
    public async Task AcceptsNotHandedOverBelowTheRetentionRaiseTheFloor()
    {
        var (_, log) = await Filled();
        using (log)
        {
            Assert.Equal(0UL, log.EarliestRetainedInstance);
            Assert.Equal(CheckpointInstance + 1 - 100, RecoveredFloor(log, retainedInstances: 100));
            Assert.Equal(0, RecoveredFloor(log, retainedInstances: 10_000));
        }
    }

    [Fact]
    public async Task ATrimmedLogRaisesTheFloorToItsEarliestRetainedInstance()
    {
        var (device, log) = await Filled();
        using (log) Assert.Equal(950UL, await log.TrimAsync(TrimRequest.BelowInstance(950)));
        using var reopened = LogTestKit.Open(device, indexCapacity: 4096);
        Assert.Equal(950, RecoveredFloor(reopened, retainedInstances: 10_000));
        Assert.Equal(950, RecoveredFloor(reopened, retainedInstances: 100)); // keepFrom 900 is below the log's floor

        // The member takes the floor over: it holds no accept below it and refuses prepares from below it.
        var host = new TestHost();
        var member = new Member(new ConsensusOptions { NodeId = 3, Members = [1, 2, 3], RetainedInstances = 100 },
            host, host, new ManualClock(), new Random(1), ConsensusLog.Recover(reopened, 100));
        Assert.Equal(950, member.AcceptedFloor);
        Assert.Equal(CheckpointInstance + 1, member.NextInstance);
        member.Receive(1, new PrepareMessage(Ballot.Create(5, 1), 949));
        member.Durable(host.Lsn);
        Assert.Empty(host.SentOf<PromiseMessage>());
        member.Receive(1, new PrepareMessage(Ballot.Create(5, 1), 950));
        member.Durable(host.Lsn);
        var chunks = host.SentOf<PromiseMessage>().ToList();
        Assert.True(chunks[^1].Last);
        Assert.Equal(Accepts - 950, chunks.Sum(c => c.Records.Length)); // every vote from 950 up is reported
    }
}
