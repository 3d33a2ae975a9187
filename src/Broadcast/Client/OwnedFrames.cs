using System.Buffers;
using System.IO.Pipelines;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Cold-path frame plumbing shared by the client and the node host: reads whole frames from a pipe as owned
/// message objects (batches copied into their own <see cref="BatchBuffer"/>), and retains/releases the batches a
/// message object carries. Not the zero-copy hot path: one copy per received batch, one box per message.
/// </summary>
internal static class OwnedFrames
{
    /// <summary>
    /// Reads frames until the input ends, handing each as an owned message to <paramref name="onMessage"/>, which
    /// takes ownership of its batches. Malformed input throws <see cref="WireException"/>. <paramref name="ordered"/>:
    /// the input is a peer member's, whose batches the caller keeps in order (see <see cref="BatchBuffer.Rent"/>).
    /// </summary>
    public static async Task ReadAllAsync(PipeReader input, Func<object, ValueTask> onMessage, CancellationToken cancellationToken,
        bool ordered = false)
    {
        var batch = new List<object>();
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                while (FrameCodec.TryReadFrame(ref buffer, out var frame)) batch.Add(MessageReader.ReadOwned(frame, ordered));
            }
            catch
            {
                foreach (var m in batch) Release(m);
                input.AdvanceTo(result.Buffer.Start);
                throw;
            }
            // Nothing completed: mark everything examined so the next read waits for new bytes.
            input.AdvanceTo(buffer.Start, result.Buffer.End);
            foreach (var m in batch) await onMessage(m).ConfigureAwait(false);
            batch.Clear();
            if (result.IsCompleted || result.IsCanceled) return;
        }
    }

    /// <summary>Takes one more reference of every batch <paramref name="message"/> carries.</summary>
    public static void Retain(object message) => ForEachBatch(message, static batch => batch.Retain());

    /// <summary>Drops one reference of every batch <paramref name="message"/> carries.</summary>
    public static void Release(object message) => ForEachBatch(message, static batch => batch.Release());

    private static void ForEachBatch(object message, Action<BatchBuffer> action)
    {
        switch (message)
        {
            case AcceptMessage m: action(m.Batch); break;
            case FetchReplyMessage { Batch: { } batch }: action(batch); break;
            case PublishMessage m: action(m.Run); break;
            case DeliverMessage m: action(m.Batch); break;
            case PromiseMessage m: foreach (var r in m.Records) action(r.Batch); break;
        }
    }
}
