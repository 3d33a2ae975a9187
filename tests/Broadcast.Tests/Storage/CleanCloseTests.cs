using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

/// <summary>
/// After a clean close nothing can be torn, so damage in the newest flush is corruption (the crash rules would cut
/// it and silently drop acknowledged records). The marker is gone once the log reopens, so a later crash is judged
/// by the crash rules again.
/// </summary>
public class CleanCloseTests
{
    private static async Task<(SimulatedLogDevice Device, List<LogAddress> Addresses)> ClosedLog(int records)
    {
        var device = new SimulatedLogDevice();
        var addresses = new List<LogAddress>();
        using (var log = LogTestKit.Open(device))
            for (ulong instance = 0; instance < (ulong)records; instance++)
                addresses.Add(await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(11, instance, lengthMax: 90)));
        return (device, addresses);
    }

    [Fact]
    public async Task ACleanCloseLeavesAMarkerThatReopeningRemoves()
    {
        var (device, _) = await ClosedLog(10);
        Assert.Contains(CleanCloseMarker.FileName, device.ListFiles());
        using (var log = LogTestKit.Open(device))
        {
            Assert.DoesNotContain(CleanCloseMarker.FileName, device.ListFiles());
            Assert.Equal(10, LogTestKit.ReadAll(log).Count);
        }
        Assert.Contains(CleanCloseMarker.FileName, device.ListFiles());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(16, 5)]
    [InlineData(40, 7)]
    public async Task ABitFlipInTheLastRecordAfterACleanCloseIsCorruption(int byteInRecord, int bit)
    {
        var (device, addresses) = await ClosedLog(10);
        long offset = (long)(addresses[^1].Value % LogTestKit.SegmentBytes);
        device.FlipBit(LogTestKit.LastSegment(device), offset + byteInRecord, bit);

        var crashed = LogTestKit.AsCrashed(LogTestKit.Copy(device));
        using (var log = LogTestKit.Open(crashed))
            Assert.Equal(9, LogTestKit.ReadAll(log).Count); // without the marker: indistinguishable from a torn write, cut

        var error = Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device));
        Assert.Equal(offset, error.Offset);
        Assert.Contains("closed cleanly", error.Message);
    }

    [Fact]
    public async Task ATruncatedLastSegmentAfterACleanCloseIsCorruption()
    {
        var (device, addresses) = await ClosedLog(10);
        device.Truncate(LogTestKit.LastSegment(device), (long)(addresses[^1].Value % LogTestKit.SegmentBytes) + 8);
        Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device));
    }

    [Fact]
    public async Task ALostNewestSegmentAfterACleanCloseIsCorruption()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
            for (ulong instance = 0; instance < 600; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(12, instance));
        Assert.True(LogTestKit.Segments(device).Length >= 2);
        device.Delete(LogTestKit.LastSegment(device));
        device.SyncDirectory();
        Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device));
    }

    [Fact]
    public async Task AfterReopeningATornTailIsCutAgain()
    {
        var (device, _) = await ClosedLog(5);
        LogAddress last;
        using (var log = LogTestKit.Open(device))
            last = await log.AppendAcceptAsync(5, LogTestKit.BallotOf(1), LogTestKit.Payload(11, 5, lengthMax: 90));
        // A crash during a later flush: the marker of the reopened log's close is not there, only its records.
        var crashed = LogTestKit.AsCrashed(LogTestKit.Copy(device));
        crashed.Truncate(LogTestKit.LastSegment(crashed), (long)(last.Value % LogTestKit.SegmentBytes) + 8);
        using var reopened = LogTestKit.Open(crashed);
        Assert.Equal(5, LogTestKit.ReadAll(reopened).Count);
    }

    [Fact]
    public async Task ADamagedMarkerIsIgnoredAndTheCrashRulesApply()
    {
        var (device, _) = await ClosedLog(5);
        device.FlipBit(CleanCloseMarker.FileName, 9, 3);
        using var log = LogTestKit.Open(device);
        Assert.Equal(5, LogTestKit.ReadAll(log).Count);
    }

    [Fact]
    public async Task NoMarkerIsLeftWhenTheLogFailed()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
        {
            await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), new byte[10]);
            device.FailNextSyncs(1);
            await Assert.ThrowsAsync<LogFailedException>(async () => await log.AppendAcceptAsync(1, LogTestKit.BallotOf(1), new byte[10]));
        }
        Assert.DoesNotContain(CleanCloseMarker.FileName, device.ListFiles());
    }
}
