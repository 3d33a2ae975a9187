using AtomicBcast.Consensus;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Tests.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>ConsensusLog's side of catch-up: reading back a delivered instance's value, the checkpoint's LogValuesFrom
/// across a restart, and the promise record that keeps an accept's ballot through trimming.</summary>
public class ConsensusLogReadTests
{
    private static BatchBuffer Batch(byte fill)
    {
        var builder = new BatchBuilder();
        Assert.True(builder.TryAppendRun(7, fill, [new[] { fill, fill }]));
        return builder.Seal();
    }

    private static async Task Durable(GroupCommitLog log, ConsensusLog consensus) =>
        await log.WaitForDurableAsync(new LogAddress((ulong)consensus.LastLsn));

    [Fact]
    public async Task ReadsTheLatestAcceptAndTheChosenValueWrittenOverALowerOne()
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice());
        var consensus = new ConsensusLog(log);
        var low = Batch(1);
        var chosen = Batch(2);
        consensus.AppendAccept(5, Ballot.Create(1, 1), low);
        consensus.AppendChosen(5, Ballot.Create(2, 2), chosen);  // a higher ballot chose another value: written over ours
        consensus.AppendAccept(6, Ballot.Create(2, 2), chosen);
        consensus.AppendChosen(6, Ballot.Create(1, 1), low);     // the log holds a higher accept: nothing written
        await Durable(log, consensus);
        Assert.True(consensus.TryReadValue(5, out var five));
        Assert.Equal(Ballot.Create(2, 2), five.Ballot);
        Assert.Equal(chosen.Span.ToArray(), five.Batch.Span.ToArray());
        Assert.True(consensus.TryReadValue(6, out var six));
        Assert.Equal(Ballot.Create(2, 2), six.Ballot);
        five.Batch.Release();
        six.Batch.Release();
        Assert.False(consensus.TryReadValue(7, out _));
        Assert.False(consensus.TryReadValue(-1, out _));
        Assert.Equal(1, consensus.ChosenWritten);
        low.Release();
        chosen.Release();
    }

    [Fact]
    public async Task ATrimmedInstanceReadsAsAbsent()
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice());
        var consensus = new ConsensusLog(log);
        var batch = Batch(3);
        for (long i = 0; i < 10; i++) consensus.AppendAccept(i, Ballot.Create(1, 1), batch);
        batch.Release();
        await Durable(log, consensus);
        await log.TrimAsync(TrimRequest.BelowInstance(5));
        Assert.False(consensus.TryReadValue(4, out _));
        Assert.True(consensus.TryReadValue(5, out var value));
        value.Batch.Release();
    }

    [Fact]
    public async Task TheCheckpointsLogValuesFromAndTheAcceptedBallotSurviveARestart()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
        {
            var consensus = new ConsensusLog(log);
            var batch = Batch(4);
            consensus.AppendAccept(70, Ballot.Create(9, 2), batch); // accepted without a promise record of ours
            batch.Release();
            consensus.AppendCheckpoint(new Checkpoint(63, 500, [new ProducerEntry(7, 4, 60)]) { LogValuesFrom = 64 });
            await Durable(log, consensus);
            Assert.Equal(Ballot.Create(9, 2), log.Promised); // a promise record came first: a trim record will carry it
        }
        using var reopened = LogTestKit.Open(LogTestKit.Copy(device));
        var state = ConsensusLog.Recover(reopened, retainedInstances: 16);
        Assert.Equal((63L, 500L, 64L), (state.Checkpoint!.Instance, state.Checkpoint.NextPosition, state.Checkpoint.LogValuesFrom));
        Assert.Equal([new ProducerEntry(7, 4, 60)], state.Checkpoint.Producers);
        foreach (var a in state.Accepts) a.Batch.Release();
    }

    [Fact]
    public void ACheckpointWrittenBeforeLogValuesFromExistedReadsAsUnknown()
    {
        var old = ProducerTableCodec.Encode([new ProducerEntry(7, 4, 60)]).AsSpan(..^8).ToArray(); // the earlier format
        Assert.Equal([new ProducerEntry(7, 4, 60)], ProducerTableCodec.Decode(old, out long from));
        Assert.Equal(-1, from); // Recover turns it into the instance after the checkpoint (see PreCatchupLogTests)
        Assert.Throws<LogCorruptException>(() => ProducerTableCodec.Decode(old.AsSpan(..^1).ToArray(), out _));
    }
}
