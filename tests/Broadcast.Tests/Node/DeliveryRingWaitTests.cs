using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>Sessions waiting on the DeliveryRing through their DeliveryWaiter: woken by every append, never missing one,
/// taken off the ring when cancelled or gone.</summary>
public sealed class DeliveryRingWaitTests
{
    internal static BatchBuffer OneMessageBatch()
    {
        var builder = new BatchBuilder();
        Assert.True(builder.TryAppendRun(7, 1, [new byte[] { 1 }]));
        return builder.Seal();
    }

    /// <summary>A session's loop as MemberHost runs it: read what is there, else wait for the next sequence.</summary>
    internal static async Task ReadAsync(DeliveryRing ring, DeliveryWaiter waiter, long sequence, long until, int countMax)
    {
        var read = new List<RetainedDelivery>(countMax);
        while (sequence < until)
        {
            // No Assert on this path: the allocation test runs it, and Assert.Equal allocates a comparer per call.
            if (!ring.TryRead(sequence, countMax, read)) throw new InvalidOperationException($"sequence {sequence} evicted");
            if (read.Count == 0)
            {
                await ring.WaitAsync(waiter, sequence).ConfigureAwait(false);
                continue;
            }
            foreach (var entry in read)
            {
                if (entry.Sequence != sequence) throw new InvalidOperationException($"read {entry.Sequence} for {sequence}");
                entry.Message.Batch.Release();
                sequence++;
            }
            read.Clear();
        }
    }

    [Fact]
    public void EverySessionWaitingIsWokenByAnAppendAndLeavesTheList()
    {
        var batch = OneMessageBatch();
        var ring = new DeliveryRing(long.MaxValue, 0);
        var waiters = Enumerable.Range(0, 5).Select(_ => ring.OpenWaiter(CancellationToken.None)).ToArray();
        var waits = waiters.Select(w => ring.WaitAsync(w, 0)).ToArray();
        Assert.All(waits, w => Assert.False(w.IsCompleted));
        Assert.Equal(5, ring.WaitingCount);
        ring.Append(new DeliverMessage(0, 0, [], batch), 1);
        Assert.All(waits, w => Assert.True(w.IsCompletedSuccessfully));
        Assert.Equal(0, ring.WaitingCount);
        // Each waits again for the next one; a session that already has it does not wait at all.
        Assert.True(ring.WaitAsync(waiters[0], 0).IsCompletedSuccessfully);
        waits = waiters.Select(w => ring.WaitAsync(w, 1)).ToArray();
        Assert.Equal(5, ring.WaitingCount);
        ring.Append(new DeliverMessage(1, 1, [], batch), 1);
        Assert.All(waits, w => Assert.True(w.IsCompletedSuccessfully));
        foreach (var waiter in waiters) waiter.Dispose();
        ring.Clear();
        Assert.Equal(1, batch.References);
        batch.Release();
    }

    [Fact]
    public async Task ManySessionsReadEveryDeliveryWhileTheLoopAppendsConcurrently()
    {
        const int Deliveries = 20_000;
        var batch = OneMessageBatch();
        var ring = new DeliveryRing(batch.Length * 4L, 0); // small: a slow session falls below the floor and starts over
        var sessions = Enumerable.Range(0, 3).Select(i => Task.Run(() => FollowAsync(ring, countMax: 1 + i * 3))).ToArray();
        var appender = Task.Run(() =>
        {
            for (int i = 0; i < Deliveries; i++)
            {
                ring.Append(new DeliverMessage(i, i, [], batch), 1);
                if (i % 7 == 0) Thread.Yield();
            }
        });
        // Only a lost wake-up leaves a session waiting for ever; the bound is there to fail rather than hang.
        var all = Task.WhenAll(sessions.Append(appender));
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(2))));
        await all;
        Assert.Equal(0, ring.WaitingCount);
        ring.Clear();
        Assert.Equal(1, batch.References);
        batch.Release();

        // A subscriber session as MemberHost runs it: from the ring while it holds the next position; below its floor it
        // skips to the floor (where the log would fill the gap), so every session ends at the last delivery.
        static async Task FollowAsync(DeliveryRing ring, int countMax)
        {
            using var waiter = ring.OpenWaiter(CancellationToken.None);
            var read = new List<RetainedDelivery>(countMax);
            long position = 0;
            while (position < Deliveries)
            {
                long sequence = ring.Locate(position);
                if (sequence < 0) position = Math.Max(position, ring.FloorPosition);
                else if (!ring.TryRead(sequence, countMax, read)) continue; // evicted meanwhile: locate again
                else if (read.Count == 0) await ring.WaitAsync(waiter, sequence).ConfigureAwait(false);
                else
                {
                    foreach (var entry in read)
                    {
                        Assert.Equal(position, entry.Message.FirstPosition);
                        position = entry.EndPosition;
                        entry.Message.Batch.Release();
                    }
                    read.Clear();
                    if (position % 5 == 0) await Task.Yield();
                }
            }
        }
    }

    [Fact]
    public async Task NoWakeUpIsLostBetweenAnEmptyReadAndTheWait()
    {
        // Round after round, the appender races a session that just found nothing and is about to wait: the wait must
        // complete whichever side wins.
        var batch = OneMessageBatch();
        var ring = new DeliveryRing(batch.Length * 2L, 0);
        using var waiter = ring.OpenWaiter(CancellationToken.None);
        var read = new List<RetainedDelivery>();
        for (int round = 0; round < 5_000; round++)
        {
            Assert.True(ring.TryRead(round, 1, read));
            Assert.Empty(read);
            using var go = new Barrier(2);
            var appender = Task.Run(() =>
            {
                go.SignalAndWait();
                ring.Append(new DeliverMessage(round, round, [], batch), 1);
            });
            go.SignalAndWait();
            var wait = ring.WaitAsync(waiter, round);
            await appender;
            // The append returned, so whatever it woke is woken: a wait still pending would have missed it.
            Assert.True(wait.IsCompletedSuccessfully, $"round {round}: the wake-up was lost");
            await wait;
        }
        Assert.Equal(0, ring.WaitingCount);
        ring.Clear();
        batch.Release();
    }

    [Fact]
    public async Task ACancelledWaiterThrowsAndLeavesTheList()
    {
        var ring = new DeliveryRing(long.MaxValue, 0);
        using var stop = new CancellationTokenSource();
        using var waiter = ring.OpenWaiter(stop.Token);
        var wait = ring.WaitAsync(waiter, 0);
        Assert.Equal(1, ring.WaitingCount);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait);
        Assert.Equal(0, ring.WaitingCount);
        // Cancelled for good: a later wait fails at once (it never waits for an append).
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ring.WaitAsync(waiter, 0));
        Assert.Equal(0, ring.WaitingCount);
        ring.Clear();
    }

    [Fact]
    public void ADisconnectedSessionLeavesTheListAndIsNotWoken()
    {
        var batch = OneMessageBatch();
        var ring = new DeliveryRing(long.MaxValue, 0);
        var gone = ring.OpenWaiter(CancellationToken.None);
        using var staying = ring.OpenWaiter(CancellationToken.None);
        _ = ring.WaitAsync(gone, 0);
        var wait = ring.WaitAsync(staying, 0);
        Assert.Equal(2, ring.WaitingCount);
        gone.Dispose();
        Assert.Equal(1, ring.WaitingCount);
        ring.Append(new DeliverMessage(0, 0, [], batch), 1);
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(0, ring.WaitingCount);
        ring.Clear();
        batch.Release();
    }

    [Fact]
    public void ClearWakesEveryoneAndLaterWaitsDoNotWait()
    {
        var ring = new DeliveryRing(long.MaxValue, 0);
        using var first = ring.OpenWaiter(CancellationToken.None);
        using var second = ring.OpenWaiter(CancellationToken.None);
        var waits = new[] { ring.WaitAsync(first, 0), ring.WaitAsync(second, 0) };
        ring.Clear();
        Assert.All(waits, w => Assert.True(w.IsCompletedSuccessfully));
        Assert.True(ring.WaitAsync(first, 0).IsCompletedSuccessfully);
        Assert.Equal(0, ring.WaitingCount);
    }
}
