using AtomicBcast.Transport;

namespace AtomicBcast.Tests.Transport;

public class BlockMemoryPoolTests
{
    [Fact]
    public void ReturnedBlocksAreReusedSoTheSteadyStateCreatesNone()
    {
        var pool = new BlockMemoryPool(blockBytes: 4096, blocksAtStart: 4);
        for (int round = 0; round < 100; round++)
        {
            var rented = Enumerable.Range(0, 4).Select(_ => pool.Rent(100)).ToArray();
            Assert.All(rented, b => Assert.Equal(4096, b.Memory.Length));
            foreach (var block in rented) block.Dispose();
        }
        Assert.Equal(4, pool.BlocksCreated);
    }

    [Fact]
    public void GrowsWhenEmptyAndRefusesOversizedRequests()
    {
        var pool = new BlockMemoryPool(blockBytes: 4096, blocksAtStart: 1);
        using var a = pool.Rent();
        using var b = pool.Rent();
        Assert.Equal(2, pool.BlocksCreated);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
    }

    [Fact]
    public void ADoubleReturnIsCaught()
    {
        var pool = new BlockMemoryPool(blockBytes: 4096, blocksAtStart: 1);
        var block = pool.Rent();
        block.Dispose();
        Assert.Throws<InvalidOperationException>(() => block.Dispose());
    }
}
