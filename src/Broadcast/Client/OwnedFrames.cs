using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Frame plumbing shared by the client and the node host: reads whole frames from a pipe as owned messages in
/// <see cref="Envelope"/>s (batches copied into their own <see cref="BatchBuffer"/>), and retains/releases the batches a
/// message carries. One copy per received batch; no heap object per frame of the frequent types (see <see cref="Envelope"/>).
/// </summary>
internal static class OwnedFrames
{
    /// <summary>
    /// Reads frames until the input ends, handing each as an owned message to <paramref name="onMessage"/>, which
    /// takes ownership of its batches. Malformed input throws <see cref="WireException"/>. <paramref name="ordered"/>:
    /// the input is a peer member's, whose batches the caller keeps in order (see <see cref="BatchBuffer.Rent"/>).
    /// </summary>
    public static async Task ReadAllAsync(PipeReader input, Func<Envelope, ValueTask> onMessage, CancellationToken cancellationToken,
        bool ordered = false)
    {
        var batch = new List<Envelope>();
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                while (FrameCodec.TryReadFrame(ref buffer, out var frame)) batch.Add(MessageReader.ReadEnvelope(frame, ordered));
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
    public static void Retain(in Envelope message)
    {
        if (message.InlineBatch is { } batch) batch.Retain();
        else if (Envelope.IsBoxedType(message.Type)) ForEachBoxedBatch(message, static batch => batch.Retain());
    }

    /// <summary>Drops one reference of every batch <paramref name="message"/> carries.</summary>
    public static void Release(in Envelope message)
    {
        if (message.InlineBatch is { } batch) batch.Release();
        else if (Envelope.IsBoxedType(message.Type)) ForEachBoxedBatch(message, static batch => batch.Release());
    }

    /// <summary>
    /// As <see cref="Retain"/>, for a holder that may keep <paramref name="message"/> long and out of the order its batches
    /// were made in (a lagging peer's <see cref="Node.OutboundQueue"/>): a batch carved from <see cref="BatchArena"/> is
    /// copied into an unordered buffer instead of retained, since one carved batch kept long keeps its whole slab from
    /// reuse. Returns what the holder keeps and later gives to <see cref="Release"/>: <paramref name="message"/> itself,
    /// its batches retained, when it carries no carved batch; else the same message whose batches are the copies (each
    /// with the holder's one reference) and the other batches retained. The caller's references are untouched either way.
    /// Allocates (pooled buffers; a box for a delivery or a promise, and a records array for a promise) only when it copies.
    /// <paramref name="copiedBytes"/>: the bytes copied, <see cref="CarvedBytes"/> of <paramref name="message"/> (0 when
    /// nothing was), which the holder may count until it releases what it kept.
    /// </summary>
    public static Envelope RetainDetached(in Envelope message, out long copiedBytes)
    {
        copiedBytes = CarvedBytes(message);
        if (copiedBytes > 0)
        {
            switch (message.Type)
            {
                case MessageType.Accept: return message.AsAccept() with { Batch = CopyOf(message.InlineBatch!) };
                case MessageType.FetchReply: return message.AsFetchReply() with { Batch = CopyOf(message.InlineBatch!) };
                case MessageType.Publish: return message.AsPublish() with { Run = CopyOf(message.InlineBatch!) };
                case MessageType.Deliver:
                    var delivery = message.AsDeliver();
                    return delivery with { Batch = CopyOf(delivery.Batch) };
                // Promise records are an acceptor's accepted batches, carved as they came from the leader: copied too. The
                // caller's records array is left as it is (it may share it); the copy gets its own.
                case MessageType.Promise:
                    var promise = message.AsPromise();
                    return promise with { Records = DetachRecords(promise.Records) };
            }
            Debug.Fail("a carved batch is left uncopied");
        }
        Retain(message);
        return message;
    }

    /// <summary>
    /// The bytes of the carved batches <paramref name="message"/> carries: what <see cref="RetainDetached"/> would copy,
    /// known before copying (a holder with a bound on its copies checks it first). Allocates nothing.
    /// </summary>
    public static long CarvedBytes(in Envelope message)
    {
        if (message.InlineBatch is { } batch) return CarvedLength(batch);
        switch (message.Type)
        {
            case MessageType.Deliver: return CarvedLength(message.AsDeliver().Batch);
            case MessageType.Promise:
                long bytes = 0;
                foreach (var r in message.AsPromise().Records) bytes += CarvedLength(r.Batch);
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

    /// <summary>The batches of the boxed types that carry any (a delivery, a promise's records).</summary>
    private static void ForEachBoxedBatch(in Envelope message, Action<BatchBuffer> action)
    {
        switch (message.Type)
        {
            case MessageType.Deliver: action(message.AsDeliver().Batch); break;
            case MessageType.Promise: foreach (var r in message.AsPromise().Records) action(r.Batch); break;
        }
    }
}
