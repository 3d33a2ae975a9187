using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

/// <summary>
/// <see cref="GroupCommitLogOptions.PrepareSpares"/>: spares written with zeros ahead of need. They must only ever
/// change where a segment's blocks come from, never what the log holds.
/// </summary>
public class PreparedSpareTests
{
    private static GroupCommitLog Open(SimulatedLogDevice device, Microsoft.Extensions.Logging.ILogger? logger = null,
        long segmentBytes = LogTestKit.SegmentBytes) =>
        GroupCommitLog.Open(new GroupCommitLogOptions
        {
            Device = device, MemberId = 3, ClusterId = LogTestKit.Cluster, SegmentBytes = segmentBytes,
            Policy = CommitPolicy.BytesOrDelay(16 << 10, TimeSpan.Zero), IndexCapacity = 256, PrepareSpares = true,
            Logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        });

    private static string[] Zeroed(SimulatedLogDevice device) =>
        [.. device.ListFiles().Where(name => name.StartsWith("zeroed-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static async Task WaitForZeroedAsync(SimulatedLogDevice device, int count)
    {
        for (var guard = System.Diagnostics.Stopwatch.StartNew(); Zeroed(device).Length < count; await Task.Delay(5))
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(30), $"no {count} zeroed spare(s): {string.Join(", ", device.ListFiles())}");
    }

    [Fact]
    public async Task ANewLogWritesItsFirstSpareBeforeOpenReturnsAndMakesItsFirstSegmentFromIt()
    {
        var device = new SimulatedLogDevice();
        using var log = Open(device);
        Assert.Equal(["zeroed-0000000000.seg"], Zeroed(device));
        Assert.Equal(new byte[LogTestKit.SegmentBytes], device.ReadAllBytes("zeroed-0000000000.seg"));

        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(4, 0));
        Assert.Equal(["segment-0000000000.log"], LogTestKit.Segments(device));
        Assert.DoesNotContain("zeroed-0000000000.seg", device.ListFiles());
        // Taking the only spare starts the next one in the background.
        await WaitForZeroedAsync(device, 1);
        Assert.Equal(["zeroed-0000000001.seg"], Zeroed(device));
    }

    [Fact]
    public async Task SegmentsMadeFromZeroedSparesHoldExactlyWhatWasAppendedAcrossAReopen()
    {
        var device = new SimulatedLogDevice();
        using (var log = Open(device))
            for (ulong instance = 0; instance < 1500; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(4, instance));
        Assert.True(LogTestKit.Segments(device).Length >= 3, "the appends should fill several segments");
        Assert.DoesNotContain(device.ListFiles(), name => name.EndsWith(".tmp", StringComparison.Ordinal));

        using var reopened = Open(device);
        var all = LogTestKit.ReadAll(reopened);
        Assert.Equal(1500, all.Count);
        foreach (var (instance, _, batch) in all) Assert.Equal(LogTestKit.Payload(4, instance), batch);
    }

    [Fact]
    public async Task AnUnfinishedSpareIsDeletedAtOpenAndAFinishedOneIsUsed()
    {
        var device = new SimulatedLogDevice();
        using (var log = Open(device))
            await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(4, 0));
        await WaitForZeroedAsync(device, 1);
        using (var leftover = device.Create("zeroed-0000000007.seg.tmp", 4096)) leftover.SyncAll();
        device.SyncDirectory();

        using var reopened = Open(device);
        Assert.DoesNotContain("zeroed-0000000007.seg.tmp", device.ListFiles());
        string spare = Assert.Single(Zeroed(device));
        // Fill the first segment: the next one is made from the spare the reopened log adopted.
        ulong instance = 1;
        while (LogTestKit.Segments(device).Length < 2)
            await reopened.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(4, instance++));
        Assert.DoesNotContain(spare, device.ListFiles());
        Assert.Equal((int)instance, LogTestKit.ReadAll(reopened).Count);
    }

    [Fact]
    public async Task AFailedPreparationIsLoggedAndTheLogGoesOnWithPreallocatedSegments()
    {
        var device = new SimulatedLogDevice();
        var logger = new Security.HostileTrafficTests.RecordingLoggers();
        using var log = Open(device, logger);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(4, 0));
        await WaitForZeroedAsync(device, 1);
        // Fill segment 0 so segment 1 takes the spare; the preparation that starts then finds the disk full.
        device.CapacityBytes = device.ListFiles().Sum(name => device.ReadAllBytes(name).LongLength) + LogTestKit.SegmentBytes / 2;
        ulong instance = 1;
        while (LogTestKit.Segments(device).Length < 2)
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(4, instance++));
        for (var guard = System.Diagnostics.Stopwatch.StartNew(); logger.Warnings == 0; await Task.Delay(5))
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(30), "the failed preparation was not logged");
        Assert.Equal(1, logger.Warnings);
        Assert.Empty(Zeroed(device));
        Assert.DoesNotContain(device.ListFiles(), name => name.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Null(log.Failure);
        device.CapacityBytes = long.MaxValue;
        while (LogTestKit.Segments(device).Length < 3)
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(4, instance++));
        Assert.Equal((int)instance, LogTestKit.ReadAll(log).Count);
    }

    /// <summary>
    /// The next segment finds the disk full while a zero-fill holds a segment's worth of space: the flusher stops the
    /// fill and tries once more, and the log goes on. A fill of several chunks sees the stop at its next chunk and
    /// deletes its file (4 MiB segments); a fill whose last chunk was already written finishes as a spare, and the
    /// segment is made from that (64 KiB segments, one chunk: it failed the log before).
    /// <para>With <paramref name="fillFinishesFirst"/>, the race between the two, forced: the fill finishes between the
    /// next segment's refused create and the flusher's answer to it, so there is no fill left to stop, but a spare that
    /// holds the space. The log failed with ENOSPC then (CI, 2026-11-24).</para>
    /// </summary>
    [Theory]
    [InlineData(LogTestKit.SegmentBytes, false)]
    [InlineData(4L << 20, false)]
    [InlineData(LogTestKit.SegmentBytes, true)]
    public async Task ASegmentThatFindsTheDiskFullWhileAZeroFillHoldsTheSpaceIsMadeOnceTheFillStops(long segmentBytes, bool fillFinishesFirst)
    {
        var device = new SimulatedLogDevice();
        using var log = Open(device, segmentBytes: segmentBytes);
        device.HoldSyncs(only: name => name.StartsWith("zeroed-", StringComparison.Ordinal));
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(4, 0)); // segment 0 takes the first spare; the next fill starts
        Assert.True(device.WaitUntilSyncHeld(TimeSpan.FromSeconds(30)), "the zero-fill did not reach its first sync");
        // Room for less than one more segment: the fill's file holds the rest.
        device.CapacityBytes = device.ListFiles().Sum(name => device.ReadAllBytes(name).LongLength) + segmentBytes / 2;
        if (fillFinishesFirst) device.HoldRefusedCreates();
        var payload = new byte[Math.Min(60_000, segmentBytes / 8)];
        ulong instance = 1;
        var filling = Task.Run(async () =>
        {
            while (LogTestKit.Segments(device).Length < 2)
                await log.AppendAcceptAsync(instance++, LogTestKit.BallotOf(1), payload);
        });
        Assert.True(device.WaitUntilCreateRefused(TimeSpan.FromSeconds(30)), "the next segment did not find the disk full");
        device.ReleaseSyncs();
        if (fillFinishesFirst)
        {
            log.WaitForPreparation();
            Assert.Equal(["zeroed-0000000001.seg"], Zeroed(device));
            device.ReleaseRefusedCreates();
        }
        await filling.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(log.Failure);
        Assert.Equal((int)instance, LogTestKit.ReadAll(log).Count);
        Assert.DoesNotContain(device.ListFiles(), name => name.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Empty(Zeroed(device));
    }

    [Fact]
    public async Task DisposeDuringAPreparationLeavesNoPartialSpare()
    {
        var device = new SimulatedLogDevice();
        var log = Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(4, 0)); // starts the background preparation
        log.Dispose();
        Assert.DoesNotContain(device.ListFiles(), name => name.EndsWith(".tmp", StringComparison.Ordinal));
        using var reopened = Open(device);
        Assert.Single(LogTestKit.ReadAll(reopened));
    }
}
