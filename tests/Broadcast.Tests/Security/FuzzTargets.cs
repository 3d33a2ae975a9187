using System.Buffers;
using System.Buffers.Binary;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Security;

/// <summary>
/// The fuzzing targets, shared by the AFL++ harness (tools/fuzz links this file) and the short in-process run in CI
/// (<see cref="FuzzSmokeTests"/>). Each takes arbitrary bytes; a <see cref="WireException"/> is the only acceptable
/// failure, anything else escapes and is a finding. Public APIs only, so the harness needs no internals.
/// </summary>
public static class FuzzTargets
{
    /// <summary>All three in one run: the first byte picks the target, the rest is its input (one AFL++ campaign for all).</summary>
    public static void All(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        switch (data[0] % 3)
        {
            case 0: Frames(data[1..]); break;
            case 1: Batch(data[1..]); break;
            default: Hello(data[1..]); break;
        }
    }

    /// <summary>Valid inputs for <see cref="All"/> to start from (each prefixed with its target byte).</summary>
    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        var batch = new BatchBuilder(lz4ThresholdBytes: 64);
        batch.TryAppendRun(7, 1, new ReadOnlyMemory<byte>[] { new byte[10], new byte[300], "seed"u8.ToArray() });
        var sealedBatch = batch.Seal();
        var batchBytes = sealedBatch.Span.ToArray();
        sealedBatch.Release();
        yield return ("batch", [1, .. batchBytes]);

        var frames = new ArrayBufferWriter<byte>();
        MessageWriter.WriteOwned(frames, new HeartbeatMessage(Ballot.Create(3, 1), 10));
        MessageWriter.WriteOwned(frames, new PrepareMessage(Ballot.Create(4, 2), 11));
        yield return ("frames", [0, .. frames.WrittenSpan]);

        var hello = new ArrayBufferWriter<byte>();
        HelloCodec.Write(hello, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, 2, "fuzz"), new byte[Limits.HelloNonceBytes]);
        HelloCodec.WriteProof(hello, new byte[Limits.HelloProofBytes]);
        yield return ("hello", [2, .. hello.WrittenSpan]);

        var refusal = new ArrayBufferWriter<byte>();
        HelloCodec.Write(refusal, new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Publisher, 0, "fuzz"));
        MessageWriter.Write(refusal, new ErrorMessage(ErrorCode.Unauthorized, "no"));
        yield return ("refusal", [2, .. refusal.WrittenSpan]);
    }

    /// <summary>Frame decoder and every message reader, with the input split in two segments (as a pipe may hand it over).</summary>
    public static void Frames(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        var bytes = data.ToArray();
        int split = bytes.Length == 1 ? 1 : 1 + bytes[0] % (bytes.Length - 1);
        var input = TwoSegments(bytes, split);
        try
        {
            while (FrameCodec.TryReadFrame(ref input, out var frame)) Exercise(frame);
        }
        catch (WireException)
        {
        }
    }

    /// <summary>Batch decoder. The CRC is recomputed over the input first, so the fuzzer gets past it into the layout.</summary>
    public static void Batch(ReadOnlySpan<byte> data)
    {
        var batch = data.ToArray();
        if (batch.Length >= Limits.BatchHeaderBytes)
            BinaryPrimitives.WriteUInt32LittleEndian(batch, Crc32C.Compute(batch.AsSpan(4)));
        try
        {
            BatchReader.Validate(batch);
        }
        catch (WireException)
        {
        }
    }

    /// <summary>What the hello exchange parses, in its order: a frame no longer than a handshake frame, the version
    /// peek, the hello, then a proof or an error frame; and a proof check over whatever parsed.</summary>
    public static void Hello(ReadOnlySpan<byte> data)
    {
        var input = new ReadOnlySequence<byte>(data.ToArray());
        try
        {
            if (!FrameCodec.TryReadFrame(ref input, out var first)) return;
            _ = HelloCodec.PeekVersion(first);
            var body = new byte[HelloCodec.BodyBytesMax];
            HelloCodec.Read(first, body, out int bodyBytes);
            if (!FrameCodec.TryReadFrame(ref input, out var second)) return;
            if (second.Type == MessageType.Error)
            {
                MessageReader.ReadError(second);
                return;
            }
            var proof = new byte[Limits.HelloProofBytes];
            HelloCodec.ReadProof(second, proof);
            _ = HelloProof.Verify(proof, "key"u8, HelloRole.Initiator, body.AsSpan(0, bodyBytes), body.AsSpan(0, bodyBytes));
        }
        catch (WireException)
        {
        }
    }

    private static void Exercise(in Frame frame)
    {
        switch (MessageReader.ReadOwned(frame))
        {
            case AcceptMessage m: BatchReader.Validate(m.Batch.Span); break;
            case FetchReplyMessage { Batch: { } batch }: BatchReader.Validate(batch.Span); break;
            case DeliverMessage m: BatchReader.Validate(m.Batch.Span); break;
            case PromiseMessage m:
                foreach (var record in m.Records) BatchReader.Validate(record.Batch.Span);
                break;
        }
    }

    private static ReadOnlySequence<byte> TwoSegments(byte[] bytes, int split)
    {
        if (split >= bytes.Length) return new ReadOnlySequence<byte>(bytes);
        var first = new Segment(bytes.AsMemory(0, split), 0);
        var second = new Segment(bytes.AsMemory(split), split);
        first.SetNext(second);
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
