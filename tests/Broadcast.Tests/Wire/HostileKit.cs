using System.Buffers;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Wire;

public enum Outcome { NeedMore, Parsed, Rejected }

/// <summary>Feeds bytes to the decoders the way a connection would, and walks every batch the way a learner or
/// subscriber would. A WireException is the one acceptable failure; anything else escapes and fails the test.</summary>
internal static class HostileKit
{
    public static Outcome Feed(byte[] bytes) => Feed(new ReadOnlySequence<byte>(bytes));

    public static Outcome Feed(ReadOnlySequence<byte> input)
    {
        try
        {
            bool parsed = false;
            while (FrameCodec.TryReadFrame(ref input, out var frame))
            {
                Exercise(frame);
                parsed = true;
            }
            return parsed && input.IsEmpty ? Outcome.Parsed : Outcome.NeedMore;
        }
        catch (WireException)
        {
            return Outcome.Rejected;
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
            case PublishMessage m:
                var builder = new BatchBuilder(lz4ThresholdBytes: 64);
                if (!builder.TryAppendRun(m.Run.Span)) throw new InvalidOperationException("a run accepted by ReadPublish must fit an empty batch");
                BatchReader.Validate(builder.Seal().Span);
                break;
        }
    }

    /// <summary>Validates a (possibly corrupted) batch: rejected or valid, never another exception.</summary>
    public static Outcome ValidateBatch(byte[] batch)
    {
        try
        {
            BatchReader.Validate(batch);
            return Outcome.Parsed;
        }
        catch (WireException)
        {
            return Outcome.Rejected;
        }
    }
}
