using System.Buffers;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

/// <summary>Builds multi-segment sequences: each segment in its own array, so a reader that runs past a segment's
/// end reads nothing it should not (it fails instead of silently reading the next bytes).</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
    {
        Memory = memory;
        if (previous is null) return;
        RunningIndex = previous.RunningIndex + previous.Memory.Length;
        previous.Next = this;
    }

    /// <summary>Splits <paramref name="bytes"/> at the given offsets (sorted here; 0 and Length give empty segments).</summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> bytes, params int[] cuts)
    {
        cuts = cuts.Distinct().Order().ToArray();
        var first = new Segment(Copy(bytes[..(cuts.Length == 0 ? bytes.Length : cuts[0])]), null);
        var last = first;
        for (int i = 0; i < cuts.Length; i++)
        {
            int end = i + 1 < cuts.Length ? cuts[i + 1] : bytes.Length;
            last = new Segment(Copy(bytes[cuts[i]..end]), last);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Every byte in a segment of its own.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= 1) return new ReadOnlySequence<byte>(bytes.ToArray());
        return Split(bytes, Enumerable.Range(1, bytes.Length - 1).ToArray());
    }

    private static byte[] Copy(ReadOnlySpan<byte> bytes) => bytes.ToArray();
}

internal static class WireTestKit
{
    public static byte[] Encode(object message)
    {
        var writer = new ArrayBufferWriter<byte>();
        MessageWriter.WriteOwned(writer, message);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Parses exactly one frame that fills <paramref name="sequence"/>, as its owned message.</summary>
    public static object DecodeOne(ReadOnlySequence<byte> sequence)
    {
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame), "a whole frame should parse");
        Assert.True(sequence.IsEmpty, "the frame should consume every byte");
        return MessageReader.ReadOwned(frame);
    }

    public static object DecodeOne(byte[] bytes) => DecodeOne(new ReadOnlySequence<byte>(bytes));

    public static byte[] Payload(int length, int seed)
    {
        var bytes = new byte[length];
        // Compressible but not constant: LZ4 finds repeats, and a wrong offset changes the content.
        for (int i = 0; i < length; i++) bytes[i] = (byte)((i % 97) ^ seed);
        return bytes;
    }

    public static byte[] RandomPayload(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A batch of <paramref name="runs"/> runs of <paramref name="messagesPerRun"/> messages of <paramref name="payloadBytes"/> each.</summary>
    public static BatchBuffer Batch(int runs, int messagesPerRun, int payloadBytes, bool lz4)
    {
        var builder = new BatchBuilder(lz4 ? 0 : int.MaxValue);
        for (int r = 0; r < runs; r++)
        {
            builder.BeginRun((ulong)(r + 1), (ulong)(r * 1000 + 1));
            for (int m = 0; m < messagesPerRun; m++) Assert.True(builder.TryAppendMessage(Payload(payloadBytes, r * 31 + m)));
            builder.EndRun();
        }
        return builder.Seal();
    }

    private static BatchBuffer? s_maxBatch;

    /// <summary>An uncompressed batch whose runs take exactly Limits.BatchBytesMax bytes (built once, shared read-only).</summary>
    public static BatchBuffer MaxBatch() => s_maxBatch ??= BuildMaxBatch();

    private static BatchBuffer BuildMaxBatch()
    {
        var builder = new BatchBuilder(int.MaxValue);
        var big = Payload(Limits.MessageBytesMax, 7);
        ulong producer = 1;
        while (builder.TryAppendRun(producer, 1, new ReadOnlyMemory<byte>[] { big })) producer++;
        int remaining = Limits.BatchBytesMax - builder.RawBytes;
        int length = LengthFilling(remaining - Limits.RunHeaderBytes);
        Assert.True(builder.TryAppendRun(producer, 1, new ReadOnlyMemory<byte>[] { Payload(length, 9) }));
        Assert.Equal(Limits.BatchBytesMax, builder.RawBytes);
        return builder.Seal();
    }

    /// <summary>The payload length whose varint plus payload take exactly <paramref name="bytes"/>.</summary>
    public static int LengthFilling(int bytes)
    {
        for (int varint = 1; varint <= Varint.BytesMax; varint++)
            if (Varint.Size((uint)(bytes - varint)) == varint) return bytes - varint;
        throw new InvalidOperationException();
    }
}
