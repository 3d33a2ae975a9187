using System.Buffers;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

public class FrameSplitTests
{
    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EverySplitPointParsesTheSame(string name)
    {
        var message = Samples.SmallByName(name);
        var bytes = Encode(message);
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            var decoded = DecodeOne(Segment.Split(bytes, cut));
            MessageRoundTripTests.AssertSameFields(message, decoded);
            Assert.Equal(bytes, Encode(decoded));
        }
    }

    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void OneBytePerSegmentParsesTheSame(string name)
    {
        var message = Samples.SmallByName(name);
        var bytes = Encode(message);
        var decoded = DecodeOne(Segment.OneBytePerSegment(bytes));
        MessageRoundTripTests.AssertSameFields(message, decoded);
    }

    [Theory]
    [MemberData(nameof(Samples.SmallNames), MemberType = typeof(Samples))]
    public void EveryPrefixAsksForMoreBytes(string name)
    {
        var bytes = Encode(Samples.SmallByName(name));
        for (int length = 0; length < bytes.Length; length++)
        {
            var sequence = Segment.Split(bytes.AsSpan(0, length), length / 2);
            var before = sequence;
            Assert.False(FrameCodec.TryReadFrame(ref sequence, out _));
            Assert.Equal(before.Length, sequence.Length);
        }
    }

    [Theory]
    [MemberData(nameof(Samples.LargeNames), MemberType = typeof(Samples))]
    public void LargeFramesParseTheSameAcrossSegments(string name)
    {
        var message = Samples.LargeByName(name);
        var bytes = Encode(message);
        int[][] cutSets = [[1], [5], [6], [7], [30], [bytes.Length / 2], [bytes.Length - 1], [3, 6, 29, 30, 31, bytes.Length / 3, bytes.Length - 2]];
        foreach (var cuts in cutSets)
            MessageRoundTripTests.AssertSameFields(message, DecodeOne(Segment.Split(bytes, cuts.Distinct().Order().ToArray())));
    }

    [Fact]
    public void AStreamOfFramesArrivingInRandomPiecesParsesInOrder()
    {
        var messages = Samples.Small().Select(s => s.Message).ToArray();
        var stream = messages.SelectMany(Encode).ToArray();
        var random = new Random(20261122);
        var decoded = new List<object>();
        var pending = Array.Empty<byte>();
        int offset = 0;
        while (offset < stream.Length)
        {
            int piece = Math.Min(random.Next(1, 200), stream.Length - offset);
            var received = pending.Concat(stream.Skip(offset).Take(piece)).ToArray();
            offset += piece;
            var sequence = Segment.Split(received, received.Length / 3);
            while (FrameCodec.TryReadFrame(ref sequence, out var frame)) decoded.Add(MessageReader.ReadOwned(frame));
            pending = sequence.ToArray();
        }
        Assert.Empty(pending);
        Assert.Equal(messages.Length, decoded.Count);
        for (int i = 0; i < messages.Length; i++) MessageRoundTripTests.AssertSameFields(messages[i], decoded[i]);
    }
}
