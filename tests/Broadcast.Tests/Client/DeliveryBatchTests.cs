using System.Buffers;
using AtomicBcast.Client;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Client;

/// <summary>What a member's deliver frame may and may not make a subscriber expose (found by review: the batch's CRC does
/// not cover the deliver header).</summary>
public class DeliveryBatchTests
{
    private static bool Load(DeliveryBatch view, long firstPosition, long next)
    {
        var bytes = Encode(new DeliverMessage(firstPosition, 7, [], Batch(2, 5, 16, lz4: false)));
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));
        return view.TryLoad(frame, next);
    }

    [Fact]
    public void ABatchStartingBeforeTheNextPositionExposesOnlyTheRest()
    {
        var view = new DeliveryBatch();
        Assert.True(Load(view, 95, 100));
        Assert.Equal(100, view.FirstPosition);
        Assert.Equal(5, view.Count);
        Assert.False(Load(view, 80, 100)); // all ten delivered before
    }

    [Fact]
    public void ANegativeFirstPositionIsMalformedInsteadOfRepeatingDeliveredPositions()
    {
        // Before the check: next - FirstPosition overflowed, and positions 60..99 came out again as a batch of -40.
        Assert.Throws<WireException>(() => Load(new DeliveryBatch(), long.MinValue + 50, 100));
        Assert.Throws<WireException>(() => Load(new DeliveryBatch(), -1, 0));
    }

    [Fact]
    public void ABatchStartingAfterTheNextPositionLeavesAGapAndIsRefused() =>
        Assert.Throws<WireException>(() => Load(new DeliveryBatch(), 101, 100));
}
