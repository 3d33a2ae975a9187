using System.Buffers;
using System.Buffers.Binary;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

[Collection(MemoryMeasurementCollection.Name)]
public class BatchTests
{
    [Fact]
    public void RunsAppendedThreeWaysReadBackInOrder()
    {
        var builder = new BatchBuilder(int.MaxValue);
        var fromPublish = (PublishMessage)Samples.SmallByName("publish");
        Assert.True(builder.TryAppendRun(fromPublish.Run.Span));
        Assert.True(builder.TryAppendRun(20, 1, new ReadOnlyMemory<byte>[] { Payload(5, 1), Payload(0, 2) }));
        builder.BeginRun(30, 7);
        Assert.True(builder.TryAppendMessage(Payload(300, 3)));
        Assert.Equal(1, builder.EndRun());
        builder.BeginRun(40, 1);
        Assert.Equal(0, builder.EndRun());

        var batch = builder.Seal();
        var runs = ReadAll(batch.Span);

        Assert.Equal([(9UL, 5UL, 3), (20UL, 1UL, 2), (30UL, 7UL, 1)], runs.Select(r => (r.Header.ProducerId, r.Header.FirstSeq, r.Header.Count)));
        Assert.Equal(Payload(200, 2), runs[0].Payloads[1]);
        Assert.Equal(Payload(300, 3), runs[2].Payloads[0]);
        var header = BatchReader.Validate(batch.Span);
        Assert.Equal((3, 6), (header.RunCount, header.MessageCount));
        Assert.True(builder.IsEmpty);
    }

    [Fact]
    public void AnEmptyBuilderSealsANoOp()
    {
        var batch = new BatchBuilder().Seal();
        Assert.True(BatchReader.Validate(batch.Span).IsNoOp);
        Assert.True(batch.Span.SequenceEqual(BatchCodec.CreateNoOp().Span));
    }

    [Fact]
    public void BatchesAboveTheThresholdAreCompressedAndReadBackTheSame()
    {
        var plain = Batch(4, 50, 64, lz4: false);
        var compressed = Batch(4, 50, 64, lz4: true);

        var plainHeader = BatchReader.Validate(plain.Span);
        var compressedHeader = BatchReader.Validate(compressed.Span);

        Assert.Equal(BatchFlags.None, plainHeader.Flags);
        Assert.Equal(BatchFlags.Lz4, compressedHeader.Flags);
        Assert.True(compressedHeader.StoredBytes < compressedHeader.RawBytes);
        Assert.Equal(plainHeader.RawBytes, compressedHeader.RawBytes);
        using var opened = BatchReader.Open(compressed.Span);
        Assert.True(opened.Runs.SequenceEqual(plain.Span[Limits.BatchHeaderBytes..]));
    }

    [Fact]
    public void IncompressibleOrSmallBatchesStayRaw()
    {
        var random = new Random(1);
        var builder = new BatchBuilder(lz4ThresholdBytes: 1024);
        Assert.True(builder.TryAppendRun(1, 1, new ReadOnlyMemory<byte>[] { RandomPayload(random, 4000) }));
        Assert.Equal(BatchFlags.None, BatchHeader.Read(builder.Seal().Span).Flags);
        Assert.True(builder.TryAppendRun(1, 2, new ReadOnlyMemory<byte>[] { Payload(900, 1) }));
        Assert.Equal(BatchFlags.None, BatchHeader.Read(builder.Seal().Span).Flags);
    }

    [Fact]
    public void AFullBuilderRefusesAndStaysUnchanged()
    {
        var builder = new BatchBuilder(int.MaxValue, batchBytesMax: 1000);
        Assert.True(builder.TryAppendRun(1, 1, new ReadOnlyMemory<byte>[] { Payload(900, 1) }));
        int raw = builder.RawBytes;
        Assert.False(builder.TryAppendRun(2, 1, new ReadOnlyMemory<byte>[] { Payload(100, 2) }));
        builder.BeginRun(3, 1);
        Assert.False(builder.TryAppendMessage(Payload(100, 3)));
        Assert.Equal(0, builder.EndRun());
        Assert.Equal(raw, builder.RawBytes);
        Assert.Equal(1, BatchReader.Validate(builder.Seal().Span).MessageCount);
    }

    [Fact]
    public void TheMaximumBatchIsExactlyAtTheLimitAndValid()
    {
        var header = BatchReader.Validate(MaxBatch().Span);
        Assert.Equal(Limits.BatchBytesMax, header.RawBytes);
        var builder = new BatchBuilder(int.MaxValue);
        Assert.True(builder.TryAppendRun(MaxBatch().Span[Limits.BatchHeaderBytes..(Limits.BatchHeaderBytes + Limits.RunHeaderBytes + 3 + Limits.MessageBytesMax)]));
        Assert.Throws<ArgumentException>(() => builder.TryAppendRun(MaxBatch().Span[Limits.BatchHeaderBytes..]));
    }

    [Fact]
    public void PooledBuildersComeBackReset()
    {
        var builder = BatchBuilderPool.Get();
        builder.Lz4ThresholdBytes = 1;
        Assert.True(builder.TryAppendRun(1, 1, new ReadOnlyMemory<byte>[] { Payload(10, 1) }));
        BatchBuilderPool.Return(builder);
        var again = BatchBuilderPool.Get();
        Assert.True(again.IsEmpty);
        Assert.Equal(BatchBuilder.DefaultLz4ThresholdBytes, again.Lz4ThresholdBytes);
        BatchBuilderPool.Return(again);
    }

    [Fact]
    public void SteadyStateBuildingAndReadingAllocatesNothingPerMessage()
    {
        var builder = new BatchBuilder(int.MaxValue);
        var payload = Payload(64, 1);
        RoundOnce(builder, payload); // warm up pools and JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int batches = 200;
        for (int i = 0; i < batches; i++) RoundOnce(builder, payload);
        long perBatch = (GC.GetAllocatedBytesForCurrentThread() - before) / batches;
        // One BatchBuffer object per sealed batch; nothing per message (256 messages per batch here).
        Assert.True(perBatch <= 64, $"{perBatch} bytes allocated per batch of 256 messages");

        static void RoundOnce(BatchBuilder builder, byte[] payload)
        {
            builder.BeginRun(1, 1);
            for (int m = 0; m < 256; m++) builder.TryAppendMessage(payload);
            builder.EndRun();
            var batch = builder.Seal();
            int seen = 0;
            using (var opened = BatchReader.Open(batch.Span))
            {
                var runs = opened.EnumerateRuns();
                while (runs.MoveNext())
                    foreach (var message in runs.Messages) seen += message.Length;
            }
            if (seen != 256 * 64) throw new InvalidOperationException($"read {seen} bytes"); // not Assert.Equal: it allocates
            batch.Release();
        }
    }

    [Fact]
    public void EveryFlippedBitIsCaughtByTheCrc()
    {
        foreach (var lz4 in new[] { false, true })
        {
            var batch = Batch(2, 10, 20, lz4).Span.ToArray();
            for (int bit = 0; bit < batch.Length * 8; bit++)
            {
                batch[bit / 8] ^= (byte)(1 << (bit % 8));
                Assert.Throws<WireException>(() => BatchReader.Validate(batch));
                batch[bit / 8] ^= (byte)(1 << (bit % 8));
            }
            BatchReader.Validate(batch);
        }
    }

    [Fact]
    public void CorruptLz4WithAValidCrcIsRejectedOrDecodesToTheDeclaredSize()
    {
        var original = Batch(3, 30, 50, lz4: true).Span.ToArray();
        int rejected = 0;
        for (int bit = Limits.BatchHeaderBytes * 8; bit < original.Length * 8; bit += 3) // every third bit keeps it quick
        {
            var batch = (byte[])original.Clone();
            batch[bit / 8] ^= (byte)(1 << (bit % 8));
            Reseal(batch);
            try
            {
                BatchReader.Validate(batch);
            }
            catch (WireException)
            {
                rejected++;
            }
        }
        Assert.True(rejected > 0, "some corruptions of LZ4 data must be detected by the decoder or the run walk");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void Lz4ThatDoesNotFillRawBytesExactlyIsRejected(int delta)
    {
        var batch = Batch(2, 20, 40, lz4: true).Span.ToArray();
        int raw = BinaryPrimitives.ReadInt32LittleEndian(batch.AsSpan(BatchFormat.RawBytesOffset));
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(BatchFormat.RawBytesOffset), raw + delta);
        Reseal(batch);
        var e = Assert.Throws<WireException>(() => BatchReader.Validate(batch));
        Assert.Contains("LZ4", e.Message);
    }

    [Fact]
    public void RawBytesAboveTheLimitIsRejectedBeforeAnyAllocation()
    {
        var batch = Batch(1, 2, 3, lz4: false).Span.ToArray();
        batch[BatchFormat.FlagsOffset] = (byte)BatchFlags.Lz4;
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(BatchFormat.RawBytesOffset), Limits.BatchBytesMax + 1);
        Reseal(batch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<WireException>(() => BatchReader.Open(batch).Dispose());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void RunMessageReaderChecksCountAgainstBytes()
    {
        byte[] messages = [2, 0xAA, 0xBB, 0, 1, 0xCC];
        Assert.Equal(3, Count(messages, 3));
        Assert.Throws<WireException>(() => Count(messages, 2));
        Assert.Throws<WireException>(() => Count(messages, 4));
        Assert.Throws<WireException>(() => Count([5, 1, 2], 1));
        Assert.Throws<WireException>(() => Count([0xFF, 0xFF, 0xFF, 0xFF, 0x1F], 1));
        Assert.Throws<WireException>(() => Count([0x81, 0x80, 0x40], 1)); // 1 MiB + 1: above MessageBytesMax

        static int Count(byte[] bytes, int count)
        {
            int n = 0;
            foreach (var _ in new RunMessageReader(bytes, count)) n++;
            RunMessageReader.Validate(Segment.OneBytePerSegment(bytes), count);
            return n;
        }
    }

    internal static void Reseal(byte[] batch) =>
        BinaryPrimitives.WriteUInt32LittleEndian(batch, Crc32C.Compute(batch.AsSpan(BatchFormat.FormatOffset)));

    private static List<(RunHeader Header, List<byte[]> Payloads)> ReadAll(ReadOnlySpan<byte> batch)
    {
        var result = new List<(RunHeader, List<byte[]>)>();
        using var opened = BatchReader.Open(batch);
        var runs = opened.EnumerateRuns();
        while (runs.MoveNext())
        {
            var payloads = new List<byte[]>();
            foreach (var message in runs.Messages) payloads.Add(message.ToArray());
            result.Add((runs.Current, payloads));
        }
        return result;
    }
}

public class BatchReaderSequenceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ABatchSplitOverSegmentsOpensTheSame(bool lz4)
    {
        var batch = WireTestKit.Batch(3, 7, 33, lz4).Span.ToArray();
        using var whole = BatchReader.Open(batch);
        var expected = whole.Runs.ToArray();
        foreach (int cut in new[] { 1, 4, 23, 24, 25, batch.Length / 2, batch.Length - 1 })
        {
            using var opened = BatchReader.Open(Segment.Split(batch, cut));
            Assert.Equal(whole.Header, opened.Header);
            Assert.True(opened.Runs.SequenceEqual(expected));
        }
        batch[^1] ^= 1;
        Assert.Throws<WireException>(() => BatchReader.Open(Segment.Split(batch, 10)).Dispose());
    }
}
