using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

public class BallotTests
{
    [Fact]
    public void HigherRoundWinsWhateverTheNodeId()
    {
        var low = Ballot.Create(round: 1, nodeId: ushort.MaxValue);
        var high = Ballot.Create(round: 2, nodeId: 1);
        Assert.True(high > low);
        Assert.Equal(2UL, high.Round);
        Assert.Equal((ushort)1, high.NodeId);
    }

    [Fact]
    public void EqualRoundsAreOrderedByNodeId()
    {
        Assert.True(Ballot.Create(5, 3) > Ballot.Create(5, 2));
        Assert.True(Ballot.Zero < Ballot.Create(0, 1));
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }
}
