using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

/// <summary>The node's loop polls DurableUntil and relies on this callback to wake it: it must come after every advance
/// (with the new value already visible) and after a failure, never before the sync.</summary>
public class DurabilityChangedTests
{
    [Fact]
    public async Task TheCallbackSeesEveryAdvanceAlreadyPublishedAndNeverAnUnsyncedRecord()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        var seen = new List<ulong>();
        ulong awaited = ulong.MaxValue;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.DurabilityChanged = () =>
        {
            ulong value = log.DurableUntil.Value;
            lock (seen) seen.Add(value);
            if (value > Volatile.Read(ref awaited)) reached.TrySetResult();
        };
        LogAddress last = default;
        for (ulong instance = 0; instance < 50; instance++)
            Assert.True(log.TryAppendAccept(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(1, instance), out last));
        Volatile.Write(ref awaited, last.Value);
        if (log.DurableUntil.Value > last.Value) reached.TrySetResult(); // advanced before we said what we wait for
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        lock (seen)
        {
            Assert.NotEmpty(seen);
            Assert.Equal(seen.Order(), seen);                      // only grows
            Assert.True(seen[^1] > last.Value);                    // the last call saw the final advance
        }
        // Held syncs: appended records are not durable, so no call may report them.
        device.HoldSyncs();
        int callsBefore;
        lock (seen) callsBefore = seen.Count;
        Assert.True(log.TryAppendAccept(50, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 50), out var held));
        Assert.True(device.WaitUntilSyncHeld(TimeSpan.FromSeconds(10))); // the flusher wrote the record and waits to sync it
        lock (seen) Assert.All(seen.Skip(callsBefore), value => Assert.True(value <= held.Value));
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.DurabilityChanged = () => { if (log.DurableUntil.Value > held.Value) released.TrySetResult(); };
        device.ReleaseSyncs();
        await released.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AFailedSyncCallsItSoThatAPollerNoticesTheFailure()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 0));
        log.DurabilityChanged = () => { if (log.Failure is not null) called.TrySetResult(); };
        device.FailNextSyncs(1, SimulatedLogDevice.EIO);
        Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), LogTestKit.Payload(1, 1), out _));
        await called.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(log.Failure);
    }
}
