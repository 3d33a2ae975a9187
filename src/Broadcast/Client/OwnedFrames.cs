using System.Buffers;
using System.Diagnostics;
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

    /// <summary>
    /// As <see cref="Retain"/>, for a holder that may keep <paramref name="message"/> long and out of the order its batches
    /// were made in (a lagging peer's <see cref="Node.OutboundQueue"/>): a batch carved from <see cref="BatchArena"/> is
    /// copied into an unordered buffer instead of retained, since one carved batch kept long keeps its whole slab from
    /// reuse. Returns what the holder keeps and later gives to <see cref="Release"/>: <paramref name="message"/> itself,
    /// its batches retained, when it carries no carved batch; else a new message of the same type whose batches are the
    /// copies (each with the holder's one reference) and the other batches retained. The caller's references are
    /// untouched either way. Allocates (a box, a records array, pooled buffers) only when it copies.
    /// <paramref name="copiedBytes"/>: the bytes copied, <see cref="CarvedBytes"/> of <paramref name="message"/> (0 when
    /// nothing was), which the holder may count until it releases what it kept.
    /// </summary>
    public static object RetainDetached(object message, out long copiedBytes)
    {
        copiedBytes = CarvedBytes(message);
        switch (message)
        {
            case AcceptMessage m when m.Batch.IsCarved: return m with { Batch = CopyOf(m.Batch) };
            case FetchReplyMessage { Batch: { IsCarved: true } batch } m: return m with { Batch = CopyOf(batch) };
            case PublishMessage m when m.Run.IsCarved: return m with { Run = CopyOf(m.Run) };
            case DeliverMessage m when m.Batch.IsCarved: return m with { Batch = CopyOf(m.Batch) };
            // Promise records are an acceptor's accepted batches, carved as they came from the leader: copied too. The
            // caller's records array is left as it is (it may share it); the copy gets its own.
            case PromiseMessage m when copiedBytes > 0: return m with { Records = DetachRecords(m.Records) };
            default:
                Debug.Assert(copiedBytes == 0, "a carved batch is left uncopied");
                Retain(message);
                return message;
        }
    }

    /// <summary>
    /// The bytes of the carved batches <paramref name="message"/> carries: what <see cref="RetainDetached"/> would copy,
    /// known before copying (a holder with a bound on its copies checks it first). Allocates nothing.
    /// </summary>
    public static long CarvedBytes(object message)
    {
        switch (message)
        {
            case AcceptMessage m: return CarvedLength(m.Batch);
            case FetchReplyMessage { Batch: { } batch }: return CarvedLength(batch);
            case PublishMessage m: return CarvedLength(m.Run);
            case DeliverMessage m: return CarvedLength(m.Batch);
            case PromiseMessage m:
                long bytes = 0;
                foreach (var r in m.Records) bytes += CarvedLength(r.Batch);
                return bytes;
            default:
                return 0;
        }
    }

    private static long CarvedLength(BatchBuffer batch) => batch.IsCarved ? batch.Length : 0;

    private static BatchBuffer CopyOf(BatchBuffer batch) => BatchBuffer.CopyOf(batch.Span);

    private static PromiseRecord[] DetachRecords(PromiseRecord[] records)
    {
        var kept = new PromiseRecord[records.Length];
        for (int i = 0; i < records.Length; i++)
        {
            var r = records[i];
            kept[i] = r with { Batch = r.Batch.IsCarved ? CopyOf(r.Batch) : r.Batch.Retain() };
        }
        return kept;
    }

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
