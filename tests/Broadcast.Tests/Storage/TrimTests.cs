using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

public class TrimTests
{
    private static async Task<GroupCommitLog> Filled(SimulatedLogDevice device, int count, TimeProvider? time = null,
        Func<ulong, GroupCommitLog, Task>? each = null)
    {
        var log = GroupCommitLog.Open(new GroupCommitLogOptions
        {
            Device = device, MemberId = 3, ClusterId = LogTestKit.Cluster, SegmentBytes = LogTestKit.SegmentBytes,
            Policy = CommitPolicy.BytesOrDelay(16 << 10, TimeSpan.Zero), IndexCapacity = 256, Time = time ?? TimeProvider.System,
        });
        for (ulong instance = 0; instance < (ulong)count; instance++)
        {
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(8, instance));
            if (each is not null) await each(instance, log);
        }
        return log;
    }

    [Fact]
    public async Task TrimReopenReadBelowTheFloorFailsNamingItAndAboveServesTheData()
    {
        var device = new SimulatedLogDevice();
        using (var log = await Filled(device, 1500))
        {
            await log.AppendPromiseAsync(LogTestKit.BallotOf(5));
            int before = LogTestKit.Segments(device).Length;
            ulong floor = await log.TrimAsync(TrimRequest.BelowInstance(700));
            Assert.Equal(700UL, floor);
            Assert.True(LogTestKit.Segments(device).Length < before, "no segment was deleted");
            AssertTrimmedAt(log, 700);
        }
        Assert.DoesNotContain("segment-0000000000.log", device.ListFiles());
        using var reopened = LogTestKit.Open(device);
        AssertTrimmedAt(reopened, 700);
        Assert.Equal(LogTestKit.BallotOf(5), reopened.Promised);
    }

    private static void AssertTrimmedAt(GroupCommitLog log, ulong floor)
    {
        Assert.Equal(floor, log.EarliestRetainedInstance);
        var error = Assert.Throws<LogTrimmedException>(() => log.TryReadAccept(floor - 1, out _, out _));
        Assert.Equal(floor, error.EarliestRetainedInstance);
        Assert.Contains($"earliest retained instance is {floor}", error.Message);
        Assert.Throws<LogTrimmedException>(() => log.ReadAccepts(floor - 100));
        var all = LogTestKit.ReadAll(log, floor);
        Assert.Equal(1500 - (int)floor, all.Count);
        foreach (var (instance, _, batch) in all) Assert.Equal(LogTestKit.Payload(8, instance), batch);
    }

    /// <summary>
    /// A crash after the trim record is durable but before the deletions are: the files come back, the floor does
    /// not go down, and the next trim deletes them.
    /// </summary>
    [Fact]
    public async Task CrashBeforeTheDeletionsAreDurableKeepsTheFloor()
    {
        var device = new SimulatedLogDevice();
        SimulatedLogDevice crashed;
        using (var log = await Filled(device, 1500))
        {
            device.FailNextDirectorySyncs(1);
            await Assert.ThrowsAsync<IOException>(() => log.TrimAsync(TrimRequest.BelowInstance(700)));
            crashed = device.Crash(new Random(3));
        }
        Assert.Contains("segment-0000000000.log", crashed.ListFiles());
        using var reopened = LogTestKit.Open(crashed);
        AssertTrimmedAt(reopened, 700);
        await reopened.TrimAsync(TrimRequest.BelowInstance(700));
        Assert.DoesNotContain("segment-0000000000.log", crashed.ListFiles());
        AssertTrimmedAt(reopened, 700);
    }

    [Fact]
    public async Task PromiseOnlyInATrimmedSegmentSurvivesThroughTheTrimRecord()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
        {
            await log.AppendPromiseAsync(LogTestKit.BallotOf(8));
            for (ulong instance = 0; instance < 1500; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(8), LogTestKit.Payload(8, instance));
            await log.TrimAsync(TrimRequest.BelowInstance(1000));
        }
        Assert.DoesNotContain("segment-0000000000.log", device.ListFiles());
        using var reopened = LogTestKit.Open(device);
        Assert.Equal(LogTestKit.BallotOf(8), reopened.Promised);
    }

    [Fact]
    public async Task RetainBytesKeepsTheNewestSegmentsAndRaisesTheFloorPastWhatWasDropped()
    {
        var device = new SimulatedLogDevice();
        using var log = await Filled(device, 1500);
        int before = LogTestKit.Segments(device).Length;
        ulong floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * LogTestKit.SegmentBytes));
        Assert.True(floor > 0);
        Assert.InRange(LogTestKit.Segments(device).Length, 2, 3);
        Assert.True(before > LogTestKit.Segments(device).Length);
        Assert.Throws<LogTrimmedException>(() => log.TryGetAccept(floor - 1, out _, out _));
        Assert.True(log.TryGetAccept(floor, out _, out _));
        Assert.Equal(1500 - (int)floor, LogTestKit.ReadAll(log, floor).Count);
    }

    [Fact]
    public async Task RetainAgeDropsSegmentsWhoseRecordsAreAllOlder()
    {
        var time = new ManualTime();
        var device = new SimulatedLogDevice();
        // One simulated minute per 100 instances.
        using var log = await Filled(device, 1500, time, (instance, _) =>
        {
            if (instance % 100 == 99) time.Advance(TimeSpan.FromMinutes(1));
            return Task.CompletedTask;
        });
        int before = LogTestKit.Segments(device).Length;
        ulong floor = await log.TrimAsync(TrimRequest.RetainAge(TimeSpan.FromMinutes(7)));
        int after = LogTestKit.Segments(device).Length;
        Assert.True(after < before && after > 1, $"{before} -> {after} segments");
        Assert.InRange(floor, 100UL, 900UL);
        Assert.True(log.TryGetAccept(floor, out _, out _));
    }

    [Fact]
    public async Task TheSegmentWithTheLatestCheckpointAndEverythingAfterItAreKept()
    {
        var device = new SimulatedLogDevice();
        using var log = await Filled(device, 1500, each: async (instance, log) =>
        {
            if (instance == 500) await log.AppendCheckpointAsync(500, 12345, new byte[] { 1 });
        });
        Assert.True(log.TryGetAccept(500, out _, out var checkpointNeighbour));
        long checkpointSegment = (long)(checkpointNeighbour.Value / LogTestKit.SegmentBytes);
        await log.TrimAsync(TrimRequest.BelowInstance(1400));
        Assert.Equal(LogTestKit.Segments(device)[0], $"segment-{checkpointSegment:D10}.log");
        Assert.True(log.TryReadLatestCheckpoint(out ulong instance, out ulong position, out _));
        Assert.Equal((500UL, 12345UL), (instance, position));
        Assert.Throws<LogTrimmedException>(() => log.TryGetAccept(600, out _, out _));
    }

    [Fact]
    public async Task TrimmingNothingLeavesTheLogAlone()
    {
        var device = new SimulatedLogDevice();
        using var log = await Filled(device, 100);
        var tail = log.Tail;
        Assert.Equal(0UL, await log.TrimAsync(TrimRequest.RetainBytes(1L << 30)));
        Assert.Equal(tail, log.Tail);
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }
}
