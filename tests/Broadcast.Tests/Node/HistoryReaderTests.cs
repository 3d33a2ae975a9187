using AtomicBcast.Node;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Tests.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>The log's history reads and <see cref="HistoryReader"/> on a small simulated log, without a member.</summary>
public sealed class HistoryReaderTests
{
    private const int Every = 4;

    /// <summary>A batch of one run per (producer, firstSeq, count); message j of a run is the byte j.</summary>
    private static BatchBuffer Batch(params (ulong Producer, ulong FirstSeq, int Count)[] runs)
    {
        var builder = new BatchBuilder();
        foreach (var (producer, firstSeq, count) in runs)
            Assert.True(builder.TryAppendRun(producer, firstSeq, Enumerable.Range(0, count).Select(j => (ReadOnlyMemory<byte>)new[] { (byte)j }).ToArray()));
        return builder.Seal();
    }

    private static void Accept(GroupCommitLog log, ulong instance, ulong round, BatchBuffer batch)
    {
        Assert.True(log.TryAppendAccept(instance, LogTestKit.BallotOf(round), batch.Span, out _));
        batch.Release();
    }

    private static void Checkpoint(GroupCommitLog log, ulong instance, ulong nextPosition) =>
        Assert.True(log.TryAppendCheckpoint(instance, nextPosition, ProducerTableCodec.Encode([]), out _));

    private static async Task SyncAsync(GroupCommitLog log) => await log.WaitForDurableAsync(new LogAddress(log.Tail.Value - 1));

    [Fact]
    public async Task TheHighestBallotWinsOverALaterLowerAcceptAndSurvivesRecovery()
    {
        var device = new SimulatedLogDevice("h");
        using (var log = LogTestKit.Open(device))
        {
            Accept(log, 5, 7, Batch((1, 1, 2)));
            Accept(log, 5, 6, Batch((2, 1, 3))); // a late Accept of an older ballot
            await SyncAsync(log);
            Assert.True(log.TryGetAccept(5, out var latest, out _));
            Assert.Equal(LogTestKit.BallotOf(6), latest);
            AssertHighest(log, 5, 7, Batch((1, 1, 2)));
        }
        using (var log = LogTestKit.Open(LogTestKit.Copy(device)))
        {
            AssertHighest(log, 5, 7, Batch((1, 1, 2)));
            Accept(log, 5, 8, Batch((3, 1, 1)));
            await SyncAsync(log);
            AssertHighest(log, 5, 8, Batch((3, 1, 1)));
            Assert.Equal(AcceptRead.None, log.TryReadHighestAccept(6, out _, out _, out _));
        }
    }

    private static void AssertHighest(GroupCommitLog log, ulong instance, ulong round, BatchBuffer expected)
    {
        Assert.Equal(AcceptRead.Found, log.TryReadHighestAccept(instance, out var ballot, out var batch, out _));
        Assert.Equal(LogTestKit.BallotOf(round), ballot);
        Assert.Equal(expected.Span.ToArray(), batch!.Span.ToArray());
        batch.Release();
        expected.Release();
    }

    [Fact]
    public async Task CheckpointsRewrittenAfterARestartReplaceTheOnesTheyRepeat()
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice("c"));
        Checkpoint(log, 3, 10);
        Checkpoint(log, 7, 20);
        Checkpoint(log, 11, 20); // no message in 8..11
        Checkpoint(log, 7, 20);  // a restart from 3 redelivers and rewrites
        await SyncAsync(log);
        Assert.True(log.TryFindCheckpointAtOrBelow(15, out var mark));
        Assert.Equal((3UL, 10UL), (mark.Instance, mark.NextPosition));
        Assert.True(log.TryFindCheckpointAtOrBelow(20, out mark));
        Assert.Equal(7UL, mark.Instance);
        Assert.False(log.TryFindCheckpointFrom(8, out _)); // 11 was replaced: not delivered again yet
        Assert.False(log.TryFindCheckpointAtOrBelow(9, out _));
    }

    [Fact]
    public async Task AReaderReplaysPositionsAndSkippedRunsFromACheckpoint()
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice("r"));
        // Instances 0..3: producer 9 seqs 1..2, then a duplicate of seq 1 beside an anonymous run, ...
        Accept(log, 0, 1, Batch((9, 1, 2)));
        Accept(log, 1, 1, Batch((9, 1, 1), (0, 1, 3)));
        Accept(log, 2, 1, Batch((9, 5, 1)));             // out of sequence: skipped
        Accept(log, 3, 1, Batch((9, 3, 2)));
        Assert.True(log.TryAppendCheckpoint(3, 7, ProducerTableCodec.Encode([new(9, 4, 3)]), out _));
        Accept(log, 4, 1, Batch((9, 4, 1), (9, 5, 1)));  // 4 is a duplicate, 5 delivered
        await SyncAsync(log);

        var fromStart = new HistoryReader(log, Every, long.MaxValue);
        Assert.True(fromStart.TrySeek(0));
        var expected = new (long First, int Count, ushort[] Skipped)[] { (0, 2, []), (2, 3, [0]), (5, 0, [0]), (5, 2, []), (7, 1, [0]) };
        foreach (var (first, count, skipped) in expected)
        {
            Assert.Equal(HistoryStep.Delivered, fromStart.TryRead(deliveredNext: 5, out var delivery, out int messages, out _));
            Assert.Equal((first, count), (delivery.FirstPosition, messages));
            Assert.Equal(skipped, delivery.SkippedRuns);
            delivery.Batch.Release();
        }
        Assert.Equal(HistoryStep.NotDelivered, fromStart.TryRead(deliveredNext: 5, out _, out _, out _));

        var fromCheckpoint = new HistoryReader(log, Every, long.MaxValue);
        Assert.True(fromCheckpoint.TrySeek(7));
        Assert.Equal((4L, 7L), (fromCheckpoint.NextInstance, fromCheckpoint.NextPosition));
        Assert.Equal(HistoryStep.Delivered, fromCheckpoint.TryRead(5, out var last, out _, out _));
        Assert.Equal([(ushort)0], last.SkippedRuns); // the restored table knows producer 9 is at seq 4
        last.Batch.Release();
    }

    [Fact]
    public async Task AnIntervalTheMemberDidNotDeliverWholeIsRefusedWithWhereItCanGoOn()
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice("j"));
        for (ulong i = 0; i < 12; i++) Accept(log, i, 1, Batch((0, i + 1, 1)));
        Checkpoint(log, 3, 4);
        Checkpoint(log, 11, 12); // a jump to a peer's checkpoint: 4..11 were not delivered here
        await SyncAsync(log);
        var reader = new HistoryReader(log, Every, long.MaxValue);
        Assert.True(reader.TrySeek(5));
        Assert.Equal(HistoryStep.NotRetained, reader.TryRead(12, out _, out _, out _));
        Assert.Equal(12, reader.ResumePosition);
        Assert.Equal(0, HistoryReader.EarliestPosition(log, Every));
    }

    [Fact]
    public async Task ASegmentTrimmedUnderAReaderIsACleanLogTrimmedException()
    {
        var device = new SimulatedLogDevice("t");
        using var log = LogTestKit.Open(device);
        var payload = new byte[8000];
        for (ulong i = 0; i < 40; i++)
        {
            var builder = new BatchBuilder();
            Assert.True(builder.TryAppendRun(0, i + 1, [payload]));
            var batch = builder.Seal();
            await log.AppendAcceptAsync(i, LogTestKit.BallotOf(1), batch); // waits for room in the small write buffers
            batch.Release();
            if ((i + 1) % Every == 0) await log.AppendCheckpointAsync(i, i + 1, ProducerTableCodec.Encode([]));
        }
        await SyncAsync(log);
        var reader = new HistoryReader(log, Every, long.MaxValue);
        Assert.True(reader.TrySeek(0));
        Assert.Equal(0, HistoryReader.EarliestPosition(log, Every));
        ulong floor = await log.TrimAsync(TrimRequest.BelowInstance(20));
        Assert.True(floor >= 4, $"trimmed to {floor}; segments {string.Join(",", device.ListFiles())}");
        Assert.Throws<LogTrimmedException>(() => reader.TryRead(40, out _, out _, out _));
        // The first checkpoint whose next instance is retained; one message per instance, so positions are instances.
        Assert.Equal(((long)floor + Every - 1) / Every * Every, HistoryReader.EarliestPosition(log, Every));
        Assert.False(new HistoryReader(log, Every, long.MaxValue).TrySeek(0));
    }
}
