using AtomicBcast.Client;

namespace AtomicBcast.Tests.Client;

/// <summary>The allocation-free wake-up: coalescing sets, and Cancel ending every wait for good.</summary>
public class WakeSignalTests
{
    [Fact]
    public async Task ASetBeforeTheWaitIsRememberedAndSetsCoalesce()
    {
        var signal = new WakeSignal();
        signal.Set();
        signal.Set();
        Assert.True(signal.WaitAsync().IsCompletedSuccessfully);
        var wait = signal.WaitAsync();
        Assert.False(wait.IsCompleted);
        signal.Set();
        await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task CancelFailsTheWaitingWaitAndEveryLaterOneEvenAfterASet()
    {
        var signal = new WakeSignal();
        using var source = new CancellationTokenSource();
        var waiting = signal.WaitAsync().AsTask();
        source.Cancel();
        signal.Cancel(source.Token);
        var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(source.Token, thrown.CancellationToken);
        signal.Set();
        Assert.True(signal.WaitAsync().IsCanceled);
        signal.Cancel(source.Token); // again: nothing changes
        Assert.True(signal.WaitAsync().IsCanceled);
    }
}
