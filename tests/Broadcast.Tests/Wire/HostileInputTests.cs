using System.Buffers.Binary;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.HostileKit;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

[Collection(MemoryMeasurementCollection.Name)]
public class HostileInputTests
{
    [Fact]
    public void RandomBytesAreRejectedOrWaitForMore()
    {
        var random = new Random(7);
        var outcomes = new int[3];
        for (int i = 0; i < 20_000; i++)
            outcomes[(int)Feed(RandomPayload(random, random.Next(0, 300)))]++;
        Assert.True(outcomes[(int)Outcome.Rejected] > 10_000, "random bytes should mostly be rejected");
    }

    [Fact]
    public void RandomBodiesBehindAValidHeaderAreRejectedOrParsed()
    {
        var random = new Random(8);
        var types = Enum.GetValues<MessageType>();
        var outcomes = new int[3];
        for (int i = 0; i < 20_000; i++)
        {
            var body = RandomPayload(random, random.Next(0, 120));
            var frame = new byte[6 + body.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length + 2);
            frame[4] = (byte)types[random.Next(types.Length)];
            body.CopyTo(frame, 6);
            var outcome = Feed(frame);
            Assert.NotEqual(Outcome.NeedMore, outcome);
            outcomes[(int)outcome]++;
        }
        Assert.True(outcomes[(int)Outcome.Parsed] > 0 && outcomes[(int)Outcome.Rejected] > 0);
    }

    [Theory]
    [InlineData(0u, Outcome.Rejected)]
    [InlineData(1u, Outcome.Rejected)]
    [InlineData((uint)Limits.FrameBytesMax, Outcome.NeedMore)]
    [InlineData((uint)Limits.FrameBytesMax + 1, Outcome.Rejected)]
    [InlineData(uint.MaxValue, Outcome.Rejected)]
    public void FrameLengthBoundaries(uint length, Outcome expected)
    {
        var bytes = Encode(new PrepareMessage(Ballot.Create(1, 1), 0));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, length);
        Assert.Equal(expected, Feed(bytes));
        Assert.Equal(expected, Feed(bytes[..4])); // judged as soon as the 4 length bytes are in (NeedMore when legal)
    }

    [Fact]
    public void UnknownTypesAndFlagsAreRejected()
    {
        var bytes = Encode(new HeartbeatMessage(Ballot.Create(1, 1), 3));
        for (int type = 0; type < 256; type++)
        {
            bytes[4] = (byte)type;
            if (!Enum.IsDefined((MessageType)type)) Assert.Equal(Outcome.Rejected, Feed(bytes));
        }
        bytes[4] = (byte)MessageType.Heartbeat;
        Assert.Equal(Outcome.Parsed, Feed(bytes));
        for (int flags = 1; flags < 256; flags++)
        {
            bytes[5] = (byte)flags;
            Assert.Equal(Outcome.Rejected, Feed(bytes));
        }
    }

    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void TruncatedBodiesAreRejected(string name)
    {
        var bytes = Encode(Samples.SmallByName(name));
        int body = bytes.Length - 6;
        for (int cut = 1; cut <= body; cut++)
        {
            // A status reply cut to exactly an older layout (without the process figures, or without the log sync
            // figures) is a legal reply of an older member: StatusMessageTests covers that it reads as unknown figures.
            if (bytes[4] == (byte)MessageType.StatusReply
                && body - cut is MessageLayout.StatusReplyWithoutProcessBytes or MessageLayout.StatusReplyWithoutLogSyncBytes) continue;
            var shorter = bytes[..^cut];
            BinaryPrimitives.WriteUInt32LittleEndian(shorter, (uint)(body - cut + 2));
            Assert.Equal(Outcome.Rejected, Feed(shorter));
        }
    }

    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void TrailingGarbageIsRejected(string name)
    {
        var bytes = Encode(Samples.SmallByName(name));
        foreach (int extra in new[] { 1, 2, 7, 24, 100 })
        {
            var longer = new byte[bytes.Length + extra];
            bytes.CopyTo(longer, 0);
            BinaryPrimitives.WriteUInt32LittleEndian(longer, (uint)(longer.Length - 4));
            Assert.Equal(Outcome.Rejected, Feed(longer));
        }
    }

    /// <summary>Every 1-, 2- and 4-byte field at every offset set to 0, 1, the limits and the limits + 1 (which covers
    /// every length and count field without naming them). Outcomes vary; the only failure allowed is WireException.</summary>
    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EveryFieldAtBoundaryValuesNeverCrashes(string name)
    {
        var original = Encode(Samples.SmallByName(name));
        uint[] values32 =
        [
            0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, uint.MaxValue,
            Limits.FrameBytesMax, Limits.FrameBytesMax + 1, Limits.BatchBytesMax, Limits.BatchBytesMax + 1,
            Limits.MessageBytesMax, Limits.MessageBytesMax + 1, Limits.PromiseChunkRecordsMax, Limits.PromiseChunkRecordsMax + 1,
            MessageLayout.BatchBytesMax, MessageLayout.BatchBytesMax + 1,
        ];
        ushort[] values16 = [0, 1, Limits.ErrorTextBytesMax, Limits.ErrorTextBytesMax + 1, 0x7FFF, 0xFFFF];
        byte[] values8 = [0, 1, 2, Limits.ClusterIdBytesMax, Limits.ClusterIdBytesMax + 1, 0x7F, 0x80, 0xFF];
        var bytes = new byte[original.Length];
        var outcomes = new int[3];
        for (int offset = 0; offset < original.Length; offset++)
        {
            foreach (var value in values32)
            {
                if (offset + 4 > bytes.Length) break;
                original.CopyTo(bytes, 0);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
                outcomes[(int)Feed(bytes)]++;
            }
            foreach (var value in values16)
            {
                if (offset + 2 > bytes.Length) break;
                original.CopyTo(bytes, 0);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), value);
                outcomes[(int)Feed(bytes)]++;
            }
            foreach (var value in values8)
            {
                original.CopyTo(bytes, 0);
                bytes[offset] = value;
                outcomes[(int)Feed(bytes)]++;
            }
        }
        Assert.True(outcomes[(int)Outcome.Rejected] > 0, "setting the frame length to 0 alone must be rejected");
    }

    /// <summary>The same for the fields inside a batch, with the CRC recomputed so the corruption reaches the
    /// header checks, LZ4 and the run walk instead of stopping at the CRC.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchFieldsAtBoundaryValuesWithAValidCrcNeverCrash(bool lz4)
    {
        var original = Batch(3, 5, 40, lz4).Span.ToArray();
        int[] values = [0, 1, -1, int.MaxValue, int.MinValue, Limits.BatchBytesMax, Limits.BatchBytesMax + 1, Limits.MessageBytesMax + 1, 23, 24, 25];
        var outcomes = new int[3];
        for (int offset = 4; offset + 4 <= original.Length; offset++)
        {
            foreach (int value in values)
            {
                var batch = (byte[])original.Clone();
                BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(offset), value);
                BatchTests.Reseal(batch);
                outcomes[(int)ValidateBatch(batch)]++;
            }
        }
        Assert.True(outcomes[(int)Outcome.Rejected] > 0);
    }

    [Fact]
    public void AHostileFrameNeverCostsMoreThanOneBoundedBuffer()
    {
        // A deliver frame whose compressed batch claims the largest rawBytes but holds garbage.
        var batch = Batch(1, 3, 10, lz4: false).Span.ToArray();
        batch[BatchFormat.FlagsOffset] = (byte)BatchFlags.Lz4;
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(BatchFormat.RawBytesOffset), Limits.BatchBytesMax);
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(BatchFormat.RunCountOffset), 1);
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(BatchFormat.MessageCountOffset), 1);
        BatchTests.Reseal(batch);
        var frame = Encode(new DeliverMessage(0, 0, [], BatchBuffer.CopyOf(batch)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(Outcome.Rejected, Feed(frame));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // At most the one expansion buffer of Limits.BatchBytesMax (pooled, so usually not even that) plus small change.
        Assert.True(allocated < Limits.BatchBytesMax + 256 * 1024, $"{allocated} bytes allocated");
    }
}
