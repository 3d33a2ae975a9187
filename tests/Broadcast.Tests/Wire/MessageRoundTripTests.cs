using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

public class MessageRoundTripTests
{
    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EveryMessageTypeRoundTrips(string name) => AssertRoundTrip(Samples.SmallByName(name));

    [Theory]
    [MemberData(nameof(Samples.LargeNames), MemberType = typeof(Samples))]
    public void MaximumSizeBodiesRoundTrip(string name) => AssertRoundTrip(Samples.LargeByName(name));

    [Fact]
    public void SamplesCoverEveryMessageType()
    {
        var covered = Samples.Small().Select(s => DecodeType(Encode(s.Message))).ToHashSet();
        Assert.Equal(Enum.GetValues<MessageType>().ToHashSet(), covered);
    }

    [Fact]
    public void PrepareHasTheDocumentedLayout()
    {
        var bytes = Encode(new PrepareMessage(new Ballot(0x0102030405060708), 0x1112131415161718));
        byte[] expected =
        [
            18, 0, 0, 0, (byte)MessageType.Prepare, 0,
            8, 7, 6, 5, 4, 3, 2, 1,
            0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void AcceptIsFixedFieldsThenTheBatchVerbatim()
    {
        var batch = Batch(2, 3, 7, lz4: false);
        var bytes = Encode(new AcceptMessage(new Ballot(5), 6, 4, batch));
        Assert.Equal(6 + 24 + batch.Length, bytes.Length);
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(6)));
        Assert.Equal(6L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(14)));
        Assert.Equal(4L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(22)));
        Assert.True(bytes.AsSpan(30).SequenceEqual(batch.Span));
    }

    [Fact]
    public void AcceptReaderHandsOutTheBatchWithoutCopying()
    {
        var batch = Batch(1, 5, 20, lz4: false);
        var bytes = Encode(new AcceptMessage(new Ballot(9), 3, 2, batch));
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));

        var header = MessageReader.ReadAccept(frame, out var slice);

        Assert.Equal(new AcceptHeader(new Ballot(9), 3, 2), header);
        Assert.True(MemoryMarshal.TryGetArray(slice.First, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(30, segment.Offset);
        Assert.True(slice.ToArray().AsSpan().SequenceEqual(batch.Span));
    }

    [Fact]
    public void PromiseRecordsAreReadInPlace()
    {
        var message = (PromiseMessage)Samples.SmallByName("promise-3");
        var bytes = Encode(message);
        var sequence = Segment.Split(bytes, 40, 41, 100);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));

        var header = MessageReader.ReadPromise(frame, out var records);

        Assert.Equal(new PromiseHeader(message.Ballot, message.FromInstance, false, 3), header);
        int i = 0;
        while (records.TryRead(out var record, out var batch))
        {
            Assert.Equal(message.Records[i].Instance, record.Instance);
            Assert.Equal(message.Records[i].AcceptedBallot, record.AcceptedBallot);
            Assert.True(batch.ToArray().AsSpan().SequenceEqual(message.Records[i].Batch.Span));
            i++;
        }
        Assert.Equal(3, i);
    }

    [Fact]
    public void PublishReaderReturnsTheRunReadyForABatch()
    {
        var publish = (PublishMessage)Samples.SmallByName("publish");
        var sequence = Segment.Split(Encode(publish), 3, 30, 31);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));

        var header = MessageReader.ReadPublish(frame, out var run);
        var builder = new BatchBuilder(int.MaxValue);
        Assert.True(builder.TryAppendRun(run));
        var batch = builder.Seal();

        Assert.Equal(new RunHeader(9, 5, 3, publish.Run.Length - Limits.RunHeaderBytes), header);
        Assert.Equal(3, BatchReader.Validate(batch.Span).MessageCount);
    }

    [Fact]
    public void DeliverSkippedRunsAreCopiedOut()
    {
        var bytes = Encode(Samples.SmallByName("deliver-skipped"));
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));

        var header = MessageReader.ReadDeliver(frame, out var skipped, out _);
        Span<ushort> indexes = stackalloc ushort[header.SkippedRunCount];
        MessageReader.CopySkippedRuns(skipped, indexes);

        Assert.Equal(new DeliverHeader(1000, 78, 2), header);
        Assert.Equal(new ushort[] { 0, 2 }, indexes.ToArray());
    }

    [Fact]
    public void PromiseChunksSplitByCountAndMarkOnlyTheLastChunk()
    {
        var records = Enumerable.Range(0, 600).Select(i => new PromiseRecord(100 + i, Ballot.Create(1, 1), BatchCodec.CreateNoOp())).ToArray();

        var chunks = PromiseChunks.Split(Ballot.Create(2, 1), 100, records);

        Assert.Equal([256, 256, 88], chunks.Select(c => c.Records.Length));
        Assert.Equal([false, false, true], chunks.Select(c => c.Last));
        Assert.Equal(records.Select(r => r.Instance), chunks.SelectMany(c => c.Records).Select(r => r.Instance));
    }

    [Fact]
    public void PromiseWithoutRecordsIsOneLastChunk()
    {
        var chunks = PromiseChunks.Split(Ballot.Create(2, 1), 100, []);
        var chunk = Assert.Single(chunks);
        Assert.True(chunk.Last);
        Assert.Empty(chunk.Records);
    }

    [Fact]
    public void PromiseChunksAlsoSplitByFrameBytes()
    {
        var max = MaxBatch();
        var records = new[] { new PromiseRecord(1, Ballot.Create(1, 1), max), new PromiseRecord(2, Ballot.Create(1, 1), max) };
        var writer = new ArrayBufferWriter<byte>();

        int frames = PromiseChunks.WriteAll(writer, Ballot.Create(2, 1), 1, records);

        Assert.Equal(2, frames);
        var sequence = new ReadOnlySequence<byte>(writer.WrittenMemory);
        var instances = new List<long>();
        var lasts = new List<bool>();
        while (FrameCodec.TryReadFrame(ref sequence, out var frame))
        {
            var chunk = MessageReader.ReadPromiseMessage(frame);
            lasts.Add(chunk.Last);
            instances.AddRange(chunk.Records.Select(r => r.Instance));
        }
        Assert.Equal([1L, 2L], instances);
        Assert.Equal([false, true], lasts);
    }

    [Fact]
    public void WritersRefuseWhatTheReadersWouldReject()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => MessageWriter.Write(writer, new ErrorMessage(ErrorCode.Internal, new string('x', Limits.ErrorTextBytesMax + 1))));
        Assert.Throws<ArgumentException>(() => MessageWriter.Write(writer, new FetchMessage(0, 0, 10)));
        var tooMany = Enumerable.Range(0, Limits.PromiseChunkRecordsMax + 1).Select(i => new PromiseRecord(i, Ballot.Zero, BatchCodec.CreateNoOp())).ToArray();
        Assert.Throws<ArgumentException>(() => MessageWriter.Write(writer, new PromiseMessage(Ballot.Zero, 0, true, tooMany)));
        var descending = new[] { new PromiseRecord(2, Ballot.Zero, BatchCodec.CreateNoOp()), new PromiseRecord(1, Ballot.Zero, BatchCodec.CreateNoOp()) };
        Assert.Throws<ArgumentException>(() => MessageWriter.Write(writer, new PromiseMessage(Ballot.Zero, 0, true, descending)));
        Assert.Throws<ArgumentException>(() => MessageWriter.WriteDeliver(writer, 0, 0, [2, 1], BatchCodec.CreateNoOp().Span));
        Assert.Throws<ArgumentException>(() => RunWriter.Size([new byte[Limits.MessageBytesMax + 1]]));
    }

    internal static void AssertRoundTrip(object message)
    {
        var bytes = Encode(message);
        var decoded = DecodeOne(bytes);
        Assert.Equal(message.GetType(), decoded.GetType());
        AssertSameFields(message, decoded);
        Assert.Equal(bytes, Encode(decoded));
    }

    /// <summary>Field by field; batches by content (the decoded message owns a copy).</summary>
    internal static void AssertSameFields(object expected, object actual)
    {
        switch (expected, actual)
        {
            case (AcceptMessage e, AcceptMessage a):
                Assert.Equal((e.Ballot, e.Instance, e.CommitUpTo), (a.Ballot, a.Instance, a.CommitUpTo));
                AssertSameBytes(e.Batch, a.Batch);
                break;
            case (FetchReplyMessage e, FetchReplyMessage a):
                Assert.Equal((e.Instance, e.Ballot, e.Status), (a.Instance, a.Ballot, a.Status));
                Assert.Equal(e.Batch is null, a.Batch is null);
                if (e.Batch is not null) AssertSameBytes(e.Batch, a.Batch!);
                break;
            case (CheckpointMessage e, CheckpointMessage a):
                Assert.Equal((e.Instance, e.NextPosition), (a.Instance, a.NextPosition));
                Assert.Equal(e.Producers, a.Producers);
                break;
            case (PublishMessage e, PublishMessage a):
                Assert.Equal((e.ProducerId, e.FirstSeq, e.Count), (a.ProducerId, a.FirstSeq, a.Count));
                AssertSameBytes(e.Run, a.Run);
                break;
            case (DeliverMessage e, DeliverMessage a):
                Assert.Equal((e.FirstPosition, e.Instance), (a.FirstPosition, a.Instance));
                Assert.Equal(e.SkippedRuns, a.SkippedRuns);
                AssertSameBytes(e.Batch, a.Batch);
                break;
            case (PromiseMessage e, PromiseMessage a):
                Assert.Equal((e.Ballot, e.FromInstance, e.Last, e.Records.Length), (a.Ballot, a.FromInstance, a.Last, a.Records.Length));
                for (int i = 0; i < e.Records.Length; i++)
                {
                    Assert.Equal((e.Records[i].Instance, e.Records[i].AcceptedBallot), (a.Records[i].Instance, a.Records[i].AcceptedBallot));
                    AssertSameBytes(e.Records[i].Batch, a.Records[i].Batch);
                }
                break;
            default:
                Assert.Equal(expected, actual);
                break;
        }
    }

    private static void AssertSameBytes(BatchBuffer expected, BatchBuffer actual)
    {
        Assert.NotSame(expected, actual);
        Assert.True(expected.Span.SequenceEqual(actual.Span), "batch bytes differ");
    }

    private static MessageType DecodeType(byte[] frame) => (MessageType)frame[4];
}
