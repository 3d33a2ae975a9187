using System.Threading.Channels;
using AtomicBcast.Client;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

/// <summary>
/// Messages waiting to be written to one connection, drained by one writer task: everything queued is written,
/// then one flush (the transport gathers it into one send). Bounded: when full, <see cref="TryEnqueue"/> drops the
/// message (consensus retransmits; a publisher retries on its own timeout), so a slow peer never makes the loop
/// block or hold unbounded memory. The queue owns one reference of each queued message's batches.
/// </summary>
internal sealed class OutboundQueue
{
    private readonly Channel<object> _channel;

    public OutboundQueue(int capacity) =>
        _channel = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity) { SingleReader = true });

    public long Dropped;

    /// <summary>Queues <paramref name="message"/>, retaining its batches; false (nothing retained) when full or closed.</summary>
    public bool TryEnqueue(object message)
    {
        OwnedFrames.Retain(message);
        if (_channel.Writer.TryWrite(message)) return true;
        OwnedFrames.Release(message);
        Interlocked.Increment(ref Dropped);
        return false;
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Bytes written to the pipe before a flush within one drain (the pipe's pause threshold is 1 MiB by default).</summary>
    private const long FlushEveryBytes = 1 << 20;

    /// <summary>Messages written before a flush when the writer cannot report its unflushed bytes.</summary>
    private const int FlushEveryMessages = 256;

    private static bool FlushDue(System.IO.Pipelines.PipeWriter output, ref int unflushed) =>
        output.CanGetUnflushedBytes ? output.UnflushedBytes >= FlushEveryBytes : ++unflushed >= FlushEveryMessages;

    /// <summary>Writes queued messages to <paramref name="connection"/> until the queue completes or the connection ends.</summary>
    public async Task DrainAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                int unflushed = 0;
                while (reader.TryRead(out var message))
                {
                    try
                    {
                        MessageWriter.WriteOwned(connection.Output, message);
                    }
                    finally
                    {
                        OwnedFrames.Release(message);
                    }
                    // The pipe applies its pause threshold only at a flush: writing a long queue (say 16,384 retransmitted
                    // 1 MiB accepts to a follower that fell behind) and flushing once would copy all of it into pipe memory
                    // first. Flushing at a byte budget keeps the queue's batches as references and lets the flush wait.
                    if (FlushDue(connection.Output, ref unflushed))
                    {
                        unflushed = 0;
                        if ((await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted) return;
                    }
                }
                var flush = await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted) return;
            }
        }
        finally
        {
            // Whatever is left will never be written: drop its references.
            while (reader.TryRead(out var left)) OwnedFrames.Release(left);
        }
    }
}
