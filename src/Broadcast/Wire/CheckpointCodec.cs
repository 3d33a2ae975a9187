using System.Buffers;
using System.Buffers.Binary;
using static AtomicBcast.Wire.Body;

namespace AtomicBcast.Wire;

/// <summary>
/// The Checkpoint frame (learner state transfer; layout in <see cref="MessageLayout"/>). Cold path: sent only to a member
/// that fell behind every peer's log, so it allocates (the producer array) after checking every length against the body.
/// The reader rejects anything a correct sender never writes: a count that disagrees with the body, negative instance or
/// position, producer id 0 (anonymous runs never enter the table), ids not strictly ascending, seq 0, and a producer's
/// last instance outside [0, instance].
/// </summary>
public static partial class MessageWriter
{
    public static void Write(IBufferWriter<byte> writer, in CheckpointMessage message)
    {
        var producers = message.Producers;
        if (producers.Length > MessageLayout.CheckpointProducersMax)
            throw new ArgumentException($"a checkpoint of {producers.Length} producers exceeds {MessageLayout.CheckpointProducersMax}", nameof(message));
        int body = MessageLayout.CheckpointFixedBytes + producers.Length * MessageLayout.CheckpointProducerBytes;
        // header(6) + instance(8) + nextPosition(8) + count(4), then 24 bytes per producer
        var span = writer.GetSpan(FrameHeader + MessageLayout.CheckpointFixedBytes);
        FrameCodec.WriteHeader(span, MessageType.Checkpoint, 0, body);
        Put(span, 0, message.Instance);
        Put(span, 8, message.NextPosition);
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeader + 16)..], producers.Length);
        writer.Advance(FrameHeader + MessageLayout.CheckpointFixedBytes);
        foreach (var p in producers)
        {
            var entry = writer.GetSpan(MessageLayout.CheckpointProducerBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, p.ProducerId);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], p.LastSeq);
            BinaryPrimitives.WriteInt64LittleEndian(entry[16..], p.LastInstance);
            writer.Advance(MessageLayout.CheckpointProducerBytes);
        }
    }
}

public static partial class MessageReader
{
    public static CheckpointMessage ReadCheckpoint(in Frame frame)
    {
        Expect(frame, MessageType.Checkpoint);
        var body = frame.Body;
        var b = Prefix(body, stackalloc byte[MessageLayout.CheckpointFixedBytes]);
        long instance = I64(b, 0), nextPosition = I64(b, 8);
        uint count = U32(b, 16);
        if (count > MessageLayout.CheckpointProducersMax
            || body.Length != MessageLayout.CheckpointFixedBytes + (long)count * MessageLayout.CheckpointProducerBytes)
            WireException.Throw($"checkpoint of {count} producers disagrees with its {body.Length}-byte body");
        if (instance < 0 || nextPosition < 0) WireException.Throw($"checkpoint at instance {instance}, position {nextPosition}");
        var producers = new ProducerRecord[count];
        var reader = new SequenceReader<byte>(body.Slice(MessageLayout.CheckpointFixedBytes));
        ulong previous = 0;
        for (int i = 0; i < producers.Length; i++)
        {
            reader.TryReadLittleEndian(out long id);
            reader.TryReadLittleEndian(out long lastSeq);
            reader.TryReadLittleEndian(out long lastInstance);
            var p = new ProducerRecord((ulong)id, (ulong)lastSeq, lastInstance);
            if (p.ProducerId <= previous || p.LastSeq == 0 || p.LastInstance < 0 || p.LastInstance > instance)
                WireException.Throw($"checkpoint producer {p.ProducerId} (seq {p.LastSeq}, instance {p.LastInstance}) is not valid after {previous}");
            previous = p.ProducerId;
            producers[i] = p;
        }
        return new CheckpointMessage(instance, nextPosition, producers);
    }
}
