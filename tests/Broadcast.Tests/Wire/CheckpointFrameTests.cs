using System.Buffers.Binary;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.HostileKit;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary>The Checkpoint frame (learner state transfer): its layout, and every field a correct sender never writes rejected
/// before anything is allocated in proportion to it.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public class CheckpointFrameTests
{
    private static readonly CheckpointMessage s_sample = new(63, 500, [new(5, 9, 60), new(8, 2, 3)]);

    [Fact]
    public void HasTheDocumentedLayout()
    {
        var bytes = Encode(s_sample);
        Assert.Equal(6 + MessageLayout.CheckpointFixedBytes + 2 * MessageLayout.CheckpointProducerBytes, bytes.Length);
        Assert.Equal((byte)MessageType.Checkpoint, bytes[4]);
        Assert.Equal(63, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(6)));
        Assert.Equal(500, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(14)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(22)));
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(26)));
        Assert.Equal(60, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(42)));
    }

    [Theory]
    [InlineData(3u)]            // more producers than the body holds
    [InlineData(1u)]            // fewer: trailing bytes
    [InlineData(uint.MaxValue)] // a hostile count: rejected before any allocation
    [InlineData(0x0AAA_AAABu)]  // count * 24 wraps a 32-bit product
    public void ACountThatDisagreesWithTheBodyIsRejected(uint count)
    {
        var bytes = Encode(s_sample);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(22), count);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(Outcome.Rejected, Feed(bytes));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    public static TheoryData<string, int, long> BadFields => new()
    {
        { "negative instance", 6, -1 },
        { "negative position", 14, -5 },
        { "producer id 0", 26, 0 },
        { "ids not ascending", 50, 5 },
        { "seq 0", 34, 0 },
        { "last instance above the checkpoint", 42, 64 },
        { "negative last instance", 66, -1 },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void FieldsACorrectSenderNeverWritesAreRejected(string what, int offset, long value)
    {
        var bytes = Encode(s_sample);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(offset), value);
        Assert.True(Feed(bytes) == Outcome.Rejected, what);
    }

    [Fact]
    public void EveryTruncationWaitsOrIsRejectedAndEveryByteFlipNeverCrashes()
    {
        var bytes = Encode(s_sample);
        for (int cut = 0; cut < bytes.Length; cut++) Assert.NotEqual(Outcome.Parsed, Feed(bytes[..cut]));
        for (int i = 0; i < bytes.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var flipped = (byte[])bytes.Clone();
                flipped[i] ^= (byte)(1 << bit);
                Feed(flipped); // Parsed or Rejected or NeedMore; anything but a WireException escapes and fails
            }
    }

    [Fact]
    public void TheWriterRefusesMoreProducersThanAFrameHolds()
    {
        var tooMany = Enumerable.Range(1, MessageLayout.CheckpointProducersMax + 1).Select(i => new ProducerRecord((ulong)i, 1, 0)).ToArray();
        Assert.Throws<ArgumentException>(() => Encode(new CheckpointMessage(0, 0, tooMany)));
    }
}
