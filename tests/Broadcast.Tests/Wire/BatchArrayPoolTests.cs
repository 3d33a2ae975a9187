using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

// The pool is process-wide: these tests use the largest size class, which no other test's batches reach, and run in the
// non-parallel collection so that no other test rents from it meanwhile.
[Collection(MemoryMeasurementCollection.Name)]
public class BatchArrayPoolTests
{
    private static int LargestClassLength => BatchArrayPool.LargeBytesMax / 2 + 1;

    [Fact]
    public void ReturnedLargeArrayIsRentedAgainAndCountsAsIdleMeanwhile()
    {
        var first = BatchArrayPool.Rent(LargestClassLength);
        Assert.Equal(BatchArrayPool.LargeBytesMax, first.Length);
        long idleBefore = BatchArrayPool.IdleBytes;

        BatchArrayPool.Return(first);
        Assert.Equal(idleBefore + first.Length, BatchArrayPool.IdleBytes);

        var second = BatchArrayPool.Rent(LargestClassLength);
        Assert.Same(first, second);
        Assert.Equal(idleBefore, BatchArrayPool.IdleBytes);
        BatchArrayPool.Return(second);
    }

    [Fact]
    public void SizesRoundUpToTheirPowerOfTwoClass()
    {
        var array = BatchArrayPool.Rent(BatchArrayPool.SmallBytesMax + 1);
        // Its class (8 KiB), or an idle array of the next class up when its own is empty.
        Assert.Contains(array.Length, new[] { 2 * BatchArrayPool.SmallBytesMax, 4 * BatchArrayPool.SmallBytesMax });
        BatchArrayPool.Return(array);
        Assert.True(BatchArrayPool.Rent(1).Length >= 1);
    }

    [Fact]
    public void AnIdleArrayOfTheNextClassServesARequestWhoseClassIsEmpty()
    {
        var large = BatchArrayPool.Rent(LargestClassLength);
        BatchArrayPool.Return(large);
        // The class below the largest is empty unless another test returned a batch of more than 2 MiB (none does).
        var half = BatchArrayPool.Rent(BatchArrayPool.LargeBytesMax / 4 + 1);
        Assert.Same(large, half);
        BatchArrayPool.Return(half);
    }

    [Fact]
    public void ForeignArraysAreNotKeptAndOversizedRequestsAreRefused()
    {
        long idleBefore = BatchArrayPool.IdleBytes;
        BatchArrayPool.Return(new byte[BatchArrayPool.SmallBytesMax * 3]); // not a power of two: not one of ours
        Assert.Equal(idleBefore, BatchArrayPool.IdleBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchArrayPool.Rent(BatchArrayPool.LargeBytesMax + 1));
    }

    [Fact]
    public void IdleMemoryStaysWithinItsBound()
    {
        var rented = new List<byte[]>();
        long classes = BatchArrayPool.IdleBytesMax / BatchArrayPool.LargeBytesMax + 2;
        for (int i = 0; i < classes; i++) rented.Add(BatchArrayPool.Rent(LargestClassLength));
        foreach (var array in rented) BatchArrayPool.Return(array);
        Assert.True(BatchArrayPool.IdleBytes <= BatchArrayPool.IdleBytesMax, $"idle {BatchArrayPool.IdleBytes} bytes");
        // Leave nothing of this size idle for the other tests' sake.
        for (int i = 0; i < classes; i++) BatchArrayPool.Rent(LargestClassLength);
    }
}
