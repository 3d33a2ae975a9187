using System.Buffers;
using System.IO.Pipelines;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>What the next frames of a subscription brought.</summary>
internal enum SubscriptionStep
{
    /// <summary>The batch holds new messages; the receive buffer is held until the next call.</summary>
    Batch,

    /// <summary>Every complete frame was read: read more from the connection.</summary>
    NeedMore,

    /// <summary>The stream ended or is broken (malformed, a gap): resume on another member.</summary>
    Ended,

    /// <summary>The member refused the subscription (<see cref="SubscriptionCursor.Floor"/>).</summary>
    Refused,
}

/// <summary>
/// Walks the frames of one subscription connection in place. Holds the pipe's buffer while a loaded batch points
/// into it and advances the pipe only when every complete frame was walked, so a batch view stays valid until the
/// next <see cref="Next"/>. One per connection.
/// </summary>
internal sealed class SubscriptionCursor(PipeReader input)
{
    private ReadResult _result;
    private ReadOnlySequence<byte> _buffer;
    private bool _holding;

    /// <summary>After <see cref="SubscriptionStep.Refused"/>: the member's retention floor (long.MaxValue: another refusal).</summary>
    public long Floor { get; private set; }

    /// <summary>Takes the result of a read of the connection's input.</summary>
    public void Hold(in ReadResult result) => (_result, _buffer, _holding) = (result, result.Buffer, true);

    /// <summary>Loads the next deliver frame holding messages at or after <paramref name="next"/> into <paramref name="batch"/>.</summary>
    public SubscriptionStep Next(DeliveryBatch batch, long next)
    {
        if (!_holding) return SubscriptionStep.NeedMore;
        try
        {
            while (FrameCodec.TryReadFrame(ref _buffer, out var frame))
            {
                if (frame.Type == MessageType.Deliver && batch.TryLoad(frame, next)) return SubscriptionStep.Batch;
                if (frame.Type != MessageType.Error) continue;
                Floor = ReadFloor(MessageReader.ReadError(frame));
                Advance();
                return SubscriptionStep.Refused;
            }
        }
        catch (WireException)
        {
            Advance();
            return SubscriptionStep.Ended; // a malformed stream: drop this member's connection and resume elsewhere
        }
        bool ended = _result.IsCompleted || _result.IsCanceled;
        Advance();
        return ended ? SubscriptionStep.Ended : SubscriptionStep.NeedMore;
    }

    /// <summary>Consumes the frames walked; the partial frame after them counts as examined, so the next read waits for more.</summary>
    private void Advance()
    {
        input.AdvanceTo(_buffer.Start, _result.Buffer.End);
        _holding = false;
    }

    private static long ReadFloor(in ErrorMessage error)
    {
        if (error.Code != ErrorCode.BelowRetentionFloor) return long.MaxValue; // any other refusal: try another member
        int at = error.Text.LastIndexOf(' ');
        return long.TryParse(error.Text.AsSpan(at + 1), out long floor) ? floor : long.MaxValue;
    }
}
