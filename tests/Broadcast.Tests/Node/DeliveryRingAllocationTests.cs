using System.Runtime.CompilerServices;
using AtomicBcast.Node;
using AtomicBcast.Wire;
using Xunit.Abstractions;

namespace AtomicBcast.Tests.Node;

[Collection(MemoryMeasurementCollection.Name)]
public sealed class DeliveryRingAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// One delivery in flight, one subscriber session: each cycle the session is parked in its wait, the loop appends
    /// (evicting the oldest: the ring is full and wraps), the session wakes on the thread pool and reads. The count is of
    /// every thread (the wake-up crosses threads), so the test host's own background work (its JSON messaging) can land
    /// in a window: of several windows the quietest must stay within a small fixed budget, which an allocation per
    /// delivery (the old ring took about 150 bytes) exceeds in every window.
    /// </summary>
    [Fact]
    public async Task AppendWakeAndReadAllocateNothingPerDeliveryOnceWarm()
    {
        const int Warm = 2_000, Cycles = 20_000, Windows = 5;
        const long BudgetBytes = 2_048;
        var batch = DeliveryRingWaitTests.OneMessageBatch();
        var ring = new DeliveryRing(batch.Length * 8L, 0);
        using var waiter = ring.OpenWaiter(CancellationToken.None);
        var session = Task.Run(() => DeliveryRingWaitTests.ReadAsync(ring, waiter, 0, Warm + (long)Windows * Cycles, countMax: 64));
        long appended = 0;
        Run(Warm);
        var windows = new long[Windows];
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Run(Cycles);
            windows[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        await session;
        output.WriteLine($"bytes per window of {Cycles} deliveries: {string.Join(", ", windows)}");
        Assert.True(windows.Min() <= BudgetBytes, $"{windows.Min()} bytes over {Cycles} deliveries");
        ring.Clear();
        Assert.Equal(1, batch.References);
        batch.Release();

        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                // Wait until the session is parked on the ring, so that every delivery goes through a real wake-up.
                while (ring.WaitingCount == 0) Thread.Yield();
                ring.Append(new DeliverMessage(appended, appended, [], batch), 1);
                appended++;
            }
        }
    }

    /// <summary>A session that went away (cancelled, or disposed at its end) is not kept alive by the ring or by its token.</summary>
    [Fact]
    public void AGoneSessionsWaiterIsCollected()
    {
        var ring = new DeliveryRing(long.MaxValue, 0);
        using var stop = new CancellationTokenSource(); // outlives the sessions, like the member's stop token
        var disposed = WaitThenDispose(ring, stop.Token);
        var cancelled = WaitThenCancel(ring, stop.Token, out var sessionStop);
        Assert.Equal(0, ring.WaitingCount);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(disposed.IsAlive);
        Assert.False(cancelled.IsAlive);
        GC.KeepAlive(ring);
        sessionStop.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference WaitThenDispose(DeliveryRing ring, CancellationToken stop)
    {
        var waiter = ring.OpenWaiter(stop);
        var wait = ring.WaitAsync(waiter, 0);
        Assert.False(wait.IsCompleted);
        waiter.Dispose();
        return new WeakReference(waiter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference WaitThenCancel(DeliveryRing ring, CancellationToken stop, out CancellationTokenSource sessionStop)
    {
        // As a session does: its token is linked to the member's stop; the subscriber leaving cancels it.
        sessionStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var waiter = ring.OpenWaiter(sessionStop.Token);
        var wait = ring.WaitAsync(waiter, 0);
        sessionStop.Cancel();
        Assert.True(wait.IsFaulted || wait.IsCanceled);
        return new WeakReference(waiter);
    }
}
