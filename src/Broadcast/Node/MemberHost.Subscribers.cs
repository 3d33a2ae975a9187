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
        long from = await ReadSubscribeAsync(connection, stop).ConfigureAwait(false);
        if (from < 0) return;
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

    /// <summary>The first frame must be a Subscribe; returns its position, or -1 if the connection ended first.</summary>
    private static async Task<long> ReadSubscribeAsync(IConnection connection, CancellationToken stop)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync(stop).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                if (frame.Type != MessageType.Subscribe) WireException.Throw($"a subscriber sent {frame.Type} before Subscribe");
                long from = MessageReader.ReadSubscribe(frame).FromPosition;
                connection.Input.AdvanceTo(buffer.Start);
                if (from < 0) WireException.Throw($"subscribe from negative position {from}");
                return from;
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) return -1;
        }
    }

    /// <summary>
    /// The session's stream: from the ring while it holds the session's next position, from the log below the ring's floor
    /// (at the start, or when the ring evicted past a slow session), handing over at an instance boundary both sides agree
    /// on (the same positions), so the subscriber sees no gap and no duplicate.
    /// </summary>
    private async Task SendDeliveriesAsync(IConnection connection, long from, CancellationToken stop)
    {
        while (from >= 0)
        {
            from = await SendFromRingAsync(connection, from, stop).ConfigureAwait(false);
            if (from < 0) return;
            from = await SendFromLogAsync(connection, from, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Sends from the ring; returns the position to go on from the log when the ring no longer holds it, or -1 when done.</summary>
    private async Task<long> SendFromRingAsync(IConnection connection, long from, CancellationToken stop)
    {
        long sequence = _ring.Locate(from);
        var batch = new List<RetainedDelivery>(DeliveriesPerFlush);
        while (true)
        {
            if (sequence < 0 || !_ring.TryRead(sequence, DeliveriesPerFlush, batch, out var more)) return from;
            if (batch.Count == 0)
            {
                await more.WaitAsync(stop).ConfigureAwait(false);
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
