using System.Diagnostics;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

public class FailureTests
{
    [Theory]
    [InlineData(SimulatedLogDevice.EIO, true, 0)]
    [InlineData(SimulatedLogDevice.EIO, false, 0)]
    [InlineData(SimulatedLogDevice.EIO, false, 700)] // a torn write: part of it lands, then EIO
    [InlineData(SimulatedLogDevice.ENOSPC, false, 0)]
    public async Task FailedSyncOrWriteFailsTheLogAndNoWaiterIsToldItsRecordIsDurable(int errno, bool failSync, int tornBytes)
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        for (ulong instance = 0; instance < 10; instance++)
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(1, instance));
        var durableBefore = log.DurableUntil;

        if (failSync) device.FailNextSyncs(1, errno);
        else device.FailNextWrites(1, errno, tornBytes);
        var waits = new List<Task>();
        LogFailedException? appendFailure = null;
        for (ulong instance = 10; instance < 200; instance++)
        {
            try
            {
                if (!log.TryAppendAccept(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(1, instance), out var address)) break;
                waits.Add(log.WaitForDurableAsync(address).AsTask());
            }
            catch (LogFailedException e)
            {
                appendFailure = e; // the flusher already failed: appends stop being accepted at once
                break;
            }
        }
        Assert.NotEmpty(waits);
        foreach (var wait in waits) await Assert.ThrowsAsync<LogFailedException>(() => wait);

        var failure = Assert.IsType<LogFailedException>(log.Failure);
        if (appendFailure is not null) Assert.Same(failure, appendFailure);
        Assert.Contains($"errno {errno}", failure.Message);
        Assert.Equal(durableBefore, log.DurableUntil);
        foreach (var wait in waits) Assert.Same(failure, wait.Exception!.InnerException);
        Assert.Same(failure, Assert.Throws<LogFailedException>(() => log.TryAppendPromise(LogTestKit.BallotOf(2), out _)));
        Assert.Same(failure, await Assert.ThrowsAsync<LogFailedException>(() => log.AppendPromiseAsync(LogTestKit.BallotOf(2)).AsTask()));
        // What was durable before the failure is still served after a restart; nothing after it is.
        log.Dispose();
        foreach (double keep in new[] { 0.0, 1.0 })
        {
            using var reopened = LogTestKit.Open(device.Crash(new Random(1), keepUnsyncedProbability: keep));
            Assert.True(reopened.HighestInstance >= 9UL);
            var all = LogTestKit.ReadAll(reopened);
            Assert.Equal(Enumerable.Range(0, all.Count).Select(i => (ulong)i), all.Select(a => a.Instance));
            foreach (var (instance, _, batch) in all) Assert.Equal(LogTestKit.Payload(1, instance), batch);
            if (keep == 0.0) Assert.Equal(9UL, reopened.HighestInstance);
        }
    }

    [Fact]
    public async Task NoSpaceForTheNextSegmentFailsTheLog()
    {
        var device = new SimulatedLogDevice { CapacityBytes = LogTestKit.SegmentBytes + 100 };
        using var log = LogTestKit.Open(device);
        var error = await Assert.ThrowsAsync<LogFailedException>(async () =>
        {
            for (ulong instance = 0; instance < 1000; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(2, instance));
        });
        Assert.Contains($"errno {SimulatedLogDevice.ENOSPC}", error.Message);
        Assert.Same(error, log.Failure);
    }

    /// <summary>
    /// The real thing: a process whose every fdatasync fails with EIO (strace injects it into the syscall).
    /// .NET's own flush would have ignored it; the log must fail and acknowledge nothing.
    /// </summary>
    [StraceFact]
    public void RealFdatasyncEioUnderStraceFailsTheLogAndAcknowledgesNothing()
    {
        string strace = FindOnPath("strace")!;
        string control = RunProbe(strace, inject: false);
        Assert.Contains("ACK", control); // the probe acknowledges normally when fdatasync works

        string injected = RunProbe(strace, inject: true);
        Assert.DoesNotContain("ACK", injected);
        Assert.Contains("FAIL LogFailedException", injected);
        Assert.Contains("fdatasync", injected);
        Assert.Contains("errno 5", injected);
        Assert.Contains("SAME", injected);
    }

    private static string RunProbe(string strace, bool inject)
    {
        string probe = AppContext.BaseDirectory.Replace(
            $"{Path.DirectorySeparatorChar}Broadcast.Tests{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}",
            $"{Path.DirectorySeparatorChar}StorageFaultProbe{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}");
        probe = Path.Combine(probe, "StorageFaultProbe.dll");
        Assert.True(File.Exists(probe), $"the probe is not built at {probe}");
        string directory = Path.Combine(Path.GetTempPath(), "abcast-probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo(strace) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in (string[])["-f", "-o", "/dev/null", "-e", "trace=fdatasync"]) start.ArgumentList.Add(argument);
            if (inject) { start.ArgumentList.Add("-e"); start.ArgumentList.Add("inject=fdatasync:error=EIO"); }
            start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(probe);
            start.ArgumentList.Add(directory);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the probe did not finish");
            Assert.True(process.ExitCode == 0, $"probe exit {process.ExitCode}: {output} {stderr.Result}");
            return output;
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Skipped, with the reason, only where strace is missing.</summary>
    private sealed class StraceFactAttribute : FactAttribute
    {
        public StraceFactAttribute()
        {
            if (FindOnPath("strace") is null) Skip = "strace is not installed (.ci/run installs it when run as root)";
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
