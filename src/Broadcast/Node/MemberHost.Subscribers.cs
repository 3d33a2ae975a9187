using AtomicBcast.Client;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// Subscribers: deliveries from the in-memory ring, or from the log below its floor, paced by the connection's pipe.
public sealed partial class MemberHost
{
    private const int DeliveriesPerFlush = 64;

    private async Task ServeSubscriberAsync(IConnection connection, CancellationToken stop)
    {
        var (first, from) = await ReadFirstRequestAsync(connection, stop).ConfigureAwait(false);
        // Member connections read inline (TransportOptions.InlineHandOffs): this continuation would otherwise run the
        // session (reads of the log, a long catch-up) inside the connection's receive loop, and hold up its I/O queue.
        await Task.Yield();
        if (first == MessageType.StatusRequest)
        {
            await ServeStatusAsync(connection, stop).ConfigureAwait(false);
            return;
        }
        if (first != MessageType.Subscribe) return;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stop);
        // Anything the subscriber sends later is ignored; reading on notices when it goes away.
        var watch = OwnedFrames.ReadAllAsync(connection.Input, m => { OwnedFrames.Release(m); return ValueTask.CompletedTask; }, both.Token)
            .ContinueWith(_ => both.Cancel(), TaskScheduler.Default);
        try
        {
            await SendDeliveriesAsync(connection, from, both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (both.IsCancellationRequested)
        {
        }
        finally
        {
            await both.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The first frame must be a Subscribe (its position is returned) or a StatusRequest (answered by
    /// <see cref="ServeStatusAsync"/>); default when the connection ended first. The frame is consumed.
    /// </summary>
    private static async Task<(MessageType Type, long From)> ReadFirstRequestAsync(IConnection connection, CancellationToken stop)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync(stop).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                long from = frame.Type switch
                {
                    MessageType.Subscribe => MessageReader.ReadSubscribe(frame).FromPosition,
                    MessageType.StatusRequest => ReadStatusRequest(frame),
                    _ => throw new WireException($"a subscriber sent {frame.Type} before Subscribe"),
                };
                var type = frame.Type;
                connection.Input.AdvanceTo(buffer.Start);
                if (from < 0) WireException.Throw($"subscribe from negative position {from}");
                return (type, from);
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) return default;
        }
    }

    private static long ReadStatusRequest(in Frame frame)
    {
        MessageReader.ReadStatusRequest(frame);
        return 0;
    }

    /// <summary>
    /// The session's stream: from the ring while it holds the session's next position, from the log below the ring's floor
    /// (at the start, or when the ring evicted past a slow session), handing over at an instance boundary both sides agree
    /// on (the same positions), so the subscriber sees no gap and no duplicate.
    /// </summary>
    private async Task SendDeliveriesAsync(IConnection connection, long from, CancellationToken stop)
    {
        // One wake-up for the whole session: the token is registered once, and waits for the ring allocate nothing.
        using var waiter = _ring.OpenWaiter(stop);
        while (from >= 0)
        {
            from = await SendFromRingAsync(connection, from, waiter, stop).ConfigureAwait(false);
            if (from < 0) return;
            from = await SendFromLogAsync(connection, from, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Sends from the ring; returns the position to go on from the log when the ring no longer holds it, or -1 when done.</summary>
    private async Task<long> SendFromRingAsync(IConnection connection, long from, DeliveryWaiter waiter, CancellationToken stop)
    {
        long sequence = _ring.Locate(from);
        var batch = new List<RetainedDelivery>(DeliveriesPerFlush);
        while (true)
        {
            if (sequence < 0 || !_ring.TryRead(sequence, DeliveriesPerFlush, batch)) return from;
            if (batch.Count == 0)
            {
                // Throws OperationCanceledException when the session's token is cancelled (the subscriber left, or stop).
                await _ring.WaitAsync(waiter, sequence).ConfigureAwait(false);
                if (_stopping) return -1;
                continue;
            }
            foreach (var entry in batch)
            {
                try
                {
                    MessageWriter.Write(connection.Output, entry.Message);
                    sequence = entry.Sequence + 1;
                    from = entry.EndPosition;
                }
                finally
                {
                    entry.Message.Batch.Release();
                }
            }
            batch.Clear();
            // A slow subscriber waits here (the pipe's pause threshold); the ring keeps going and may evict past it.
            var flush = await connection.Output.FlushAsync(stop).ConfigureAwait(false);
            if (flush.IsCompleted) return -1;
        }
    }

    private async Task RefuseBelowFloorAsync(IConnection connection, long position, long floor)
    {
        NodeLog.BelowFloor(_logger, connection.RemoteEndPoint?.ToString() ?? "?", position, floor);
        MessageWriter.Write(connection.Output, new ErrorMessage(ErrorCode.BelowRetentionFloor,
            $"position {position} is not retained by member {_self}; the earliest retained position is {floor}"));
        await connection.Output.FlushAsync().ConfigureAwait(false);
        await connection.CloseAsync().ConfigureAwait(false);
    }
}
