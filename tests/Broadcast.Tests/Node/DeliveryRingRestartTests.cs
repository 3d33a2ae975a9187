using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>DeliveryRing.Restart: after a learner jump the stream restarts at the jump's position, and no reader can take
/// the first delivery after it for the successor of what it read before.</summary>
public sealed class DeliveryRingRestartTests
{
    private static void Append(DeliveryRing ring, long firstPosition, long instance)
    {
        var builder = new BatchBuilder();
        Assert.True(builder.TryAppendRun(7, (ulong)firstPosition + 1, [new byte[] { 1 }, new byte[] { 2 }]));
        var batch = builder.Seal();
        ring.Append(new DeliverMessage(firstPosition, instance, [], batch), 2);
        batch.Release();
    }

    [Fact]
    public void TheStreamRestartsAtTheJumpAndReadersBelowItAreTold()
    {
        var ring = new DeliveryRing(long.MaxValue, 0);
        Append(ring, 0, 0);
        Append(ring, 2, 1);
        long waiting = ring.Locate(4); // a session that read everything waits for sequence 2
        Assert.Equal(2, waiting);
        var read = new List<RetainedDelivery>();
        Assert.True(ring.TryRead(waiting, 10, read));
        Assert.Empty(read);
        using var waiter = ring.OpenWaiter(CancellationToken.None);
        var more = ring.WaitAsync(waiter, waiting);
        Assert.False(more.IsCompleted);
        ring.Restart(1000);
        Assert.True(more.IsCompletedSuccessfully); // the waiting session wakes up ...
        Assert.False(ring.TryRead(waiting, 10, read)); // ... and is below the floor
        Assert.True(ring.WaitAsync(waiter, waiting).IsCompletedSuccessfully); // and would not wait again
        Assert.Equal((1000, 1000), (ring.FloorPosition, ring.EndPosition));
        Assert.Equal(-1, ring.Locate(4));
        Append(ring, 1000, 500);
        Assert.False(ring.TryRead(waiting, 10, read)); // still: the jump's first delivery is not its successor
        long resumed = ring.Locate(1000);
        Assert.True(ring.TryRead(resumed, 10, read));
        Assert.Equal([(1000L, 500L)], read.Select(r => (r.Message.FirstPosition, r.Message.Instance)));
        foreach (var r in read) r.Message.Batch.Release();
        ring.Clear();
    }
}
