using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

/// <summary>
/// An owner's burst (<see cref="GroupCommitLog.BeginBurst"/> / <see cref="GroupCommitLog.EndBurst"/>): the owner either
/// syncs what it appended on its own thread or leaves it to the flusher, and in every case each record becomes durable
/// and nothing is reported durable before its sync.
/// </summary>
public class BurstTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Holds the device's syncs until released, and at the latest when disposed: a failed assertion must not
    /// leave the log's dispose waiting for a sync forever.</summary>
    private static SyncsHeld HoldSyncs(SimulatedLogDevice device)
    {
        device.HoldSyncs();
        return new SyncsHeld(device);
    }

    /// <summary>A log whose first record is durable and whose flusher sleeps: what a burst then appends is the burst's.</summary>
    private static async Task<GroupCommitLog> OpenIdleAsync(SimulatedLogDevice device)
    {
        var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        Assert.True(SpinWait.SpinUntil(() => log.FlusherIdle, Patience));
        return log;
    }

    /// <summary>A burst that appends record 1, then its EndBurst on a thread of its own, which the held syncs stop in
    /// its sync: a caller's flush under way. Completes with EndBurst's answer once the syncs are released.</summary>
    private static Task<bool> StartHeldCallersFlush(GroupCommitLog log, SimulatedLogDevice device)
    {
        log.BeginBurst();
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out _));
        var ending = Task.Factory.StartNew(() => log.EndBurst(flushHere: true), TaskCreationOptions.LongRunning);
        Assert.True(device.WaitUntilSyncHeld(Patience));
        return ending;
    }

    private sealed class SyncsHeld(SimulatedLogDevice device) : IDisposable
    {
        public void Dispose() => device.ReleaseSyncs();
    }

    [Fact]
    public async Task EndBurstWithFlushHereSyncsOnTheCallersThreadBeforeItReturns()
    {
        var device = new SimulatedLogDevice();
        using var log = await OpenIdleAsync(device);
        log.BeginBurst();
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out var first));
        Assert.True(log.TryAppendAccept(2, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 2), out var second));
        using var held = HoldSyncs(device);
        var ending = Task.Factory.StartNew(() => log.EndBurst(flushHere: true), TaskCreationOptions.LongRunning);
        Assert.True(device.WaitUntilSyncHeld(Patience));
        // The sync is held, and EndBurst is the one waiting for it: the flusher was never asked.
        Assert.False(ending.IsCompleted);
        Assert.True(log.DurableUntil.Value <= first.Value);
        device.ReleaseSyncs();
        Assert.True(await ending.WaitAsync(Patience));
        Assert.True(log.DurableUntil.Value > second.Value);
        Assert.Equal([0UL, 1UL, 2UL], LogTestKit.ReadAll(log).Select(r => r.Instance));
    }

    [Fact]
    public async Task EndBurstWithoutFlushHereWakesTheFlusher()
    {
        using var log = await OpenIdleAsync(new SimulatedLogDevice());
        log.BeginBurst();
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out var address));
        Assert.False(log.EndBurst(flushHere: false));
        await log.WaitForDurableAsync(address).AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task EndBurstLeavesTheRecordsToAFlushAlreadyUnderWay()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0)); // the segment file exists
        using var held = HoldSyncs(device);
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out _));
        Assert.True(device.WaitUntilSyncHeld(Patience)); // the flusher holds the flush
        log.BeginBurst();
        Assert.True(log.TryAppendAccept(2, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 2), out var burst));
        // Off the test thread: an EndBurst that wrongly waited for the held flush must fail the test, not hang it.
        Assert.False(await Task.Run(() => log.EndBurst(flushHere: true)).WaitAsync(Patience));
        device.ReleaseSyncs();
        await log.WaitForDurableAsync(burst).AsTask().WaitAsync(Patience);
        Assert.Equal([0UL, 1UL, 2UL], LogTestKit.ReadAll(log).Select(r => r.Instance));
    }

    [Fact]
    public async Task RecordsAppendedDuringACallersFlushReachTheFlusherWhenItEnds()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        using var held = HoldSyncs(device);
        var ending = StartHeldCallersFlush(log, device);
        // Another thread appends while the caller's flush is under way: the flusher wakes, finds the flush taken and
        // sleeps again; the caller's flush must wake it when it ends.
        Assert.True(log.TryAppendAccept(2, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 2), out var later));
        device.ReleaseSyncs();
        Assert.True(await ending.WaitAsync(Patience));
        await log.WaitForDurableAsync(later).AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task ACallersFailedSyncFailsTheLogAndEveryWaiter()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        device.FailNextSyncs(1, SimulatedLogDevice.EIO);
        log.BeginBurst();
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out var address));
        var waiter = log.WaitForDurableAsync(address).AsTask();
        Assert.True(log.EndBurst(flushHere: true));
        Assert.NotNull(log.Failure);
        Assert.True(log.DurableUntil.Value <= address.Value);
        await Assert.ThrowsAsync<LogFailedException>(() => waiter.WaitAsync(Patience));
        Assert.Throws<LogFailedException>(() => log.TryAppendAccept(2, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 2), out _));
    }

    [Fact]
    public async Task DisposingWhileACallersSyncFailsEnds()
    {
        var device = new SimulatedLogDevice();
        var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        using var held = HoldSyncs(device);
        device.FailNextSyncs(1, SimulatedLogDevice.EIO);
        var ending = StartHeldCallersFlush(log, device);
        var disposing = Task.Factory.StartNew(log.Dispose, TaskCreationOptions.LongRunning);
        // Dispose woke the flusher; it found the caller's flush under way and sleeps again.
        Assert.True(SpinWait.SpinUntil(() => log.IsDisposing && log.FlusherIdle, Patience));
        device.ReleaseSyncs();
        Assert.True(await ending.WaitAsync(Patience));
        await disposing.WaitAsync(Patience);
        Assert.NotNull(log.Failure);
    }

    [Fact]
    public async Task DisposingDuringACallersFlushDrainsEverythingAppended()
    {
        var device = new SimulatedLogDevice();
        var log = LogTestKit.Open(device);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        using var held = HoldSyncs(device);
        var ending = StartHeldCallersFlush(log, device);
        Assert.True(log.TryAppendAccept(2, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 2), out _));
        var disposing = Task.Factory.StartNew(log.Dispose, TaskCreationOptions.LongRunning);
        device.ReleaseSyncs();
        Assert.True(await ending.WaitAsync(Patience));
        await disposing.WaitAsync(Patience);
        using var reopened = LogTestKit.Open(LogTestKit.AsCrashed(device));
        Assert.Equal([0UL, 1UL, 2UL], LogTestKit.ReadAll(reopened).Select(r => r.Instance));
    }
}
