using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

public class Crc32CTests
{
    [Fact]
    public void MatchesABitwiseReferenceAtEveryBlockBoundary()
    {
        var random = new Random(32);
        var data = new byte[3 * 8192 * 2 + 3 * 256 * 3 + 100];
        random.NextBytes(data);
        int[] lengths = [0, 1, 7, 8, 9, 255, 256, 767, 768, 769, 3 * 256 * 2 + 5, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256 + 13, data.Length];
        foreach (int length in lengths)
            foreach (int offset in new[] { 0, 1, 3 })
            {
                if (offset + length > data.Length) continue;
                var slice = data.AsSpan(offset, length);
                Assert.Equal(Reference(slice), Crc32C.Compute(slice));
            }
    }

    [Fact]
    public void AppendingInPiecesEqualsComputingAtOnce()
    {
        var random = new Random(33);
        var data = new byte[100_000];
        random.NextBytes(data);
        uint state = 0xFFFF_FFFFu;
        int offset = 0;
        while (offset < data.Length)
        {
            int piece = Math.Min(random.Next(0, 30_000), data.Length - offset);
            state = Crc32C.Append(state, data.AsSpan(offset, piece));
            offset += piece;
        }
        Assert.Equal(Crc32C.Compute(data), ~state);
        Assert.Equal(Reference(data), ~state);
    }

    private static uint Reference(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }
}
