using System.IO.Pipelines;

namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    // Ask for at least this much room per receive; the pipe hands out the rest of its current block.
    private const int ReceiveBytesMin = 2048;

    private long _lastReceiveTimestamp;

    private Task ReceiveLoopAsync()
    {
        if (!ReceivesOnOwnThread) return ReceiveLoopOnPoolAsync();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoopOnOwnThread();
            }
            finally
            {
                // Whatever happens, the connection must learn that its receive side is over (Closed waits for it).
                ended.TrySetResult();
            }
        }) { IsBackground = true, Name = $"abcast receive {RemoteEndPoint}" };
        try
        {
            thread.Start();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // The OS refused a thread (a process limit, short memory): receive the usual way rather than never.
            return ReceiveLoopOnPoolAsync();
        }
        return ended.Task;
    }

    private async Task ReceiveLoopOnPoolAsync()
    {
        ShutdownReason end;
        try
        {
            end = await PumpReceivedAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            end = Classify(e);
        }
        EndReceive(end);
    }

    private void EndReceive(ShutdownReason end)
    {
        Record(end);
        _input.Writer.Complete();
        // The receive side is over, so is the connection: stop the send loop too.
        _output.Reader.CancelPendingRead();
    }

    /// <summary>Hands <paramref name="received"/> bytes, just read into the writer's memory, to the pipe (not flushed).</summary>
    private void Commit(PipeWriter writer, int received)
    {
        // Stamp before the flush: once the app sees these bytes, the idle clock has seen them too.
        Volatile.Write(ref _lastReceiveTimestamp, Time.GetTimestamp());
        writer.Advance(received);
        CountReceived(received);
    }

    /// <summary>Whether this connection waits for received bytes on a thread of its own
    /// (<see cref="TransportOptions.ReceiveThreadsMax"/>), with <see cref="WaitReadable"/> and <see cref="ReceiveReady"/>.</summary>
    protected virtual bool ReceivesOnOwnThread => false;

    /// <summary>Own thread: blocks until bytes, the end or an error are ready, or the link is aborted; false after a
    /// timeout.</summary>
    protected virtual bool WaitReadable() => throw new NotSupportedException();

    /// <summary>Own thread: reads what is ready; 0 means the peer closed in order (FIN).</summary>
    protected virtual int ReceiveReady(Span<byte> buffer) => throw new NotSupportedException();

    private void ReceiveLoopOnOwnThread()
    {
        ShutdownReason end;
        try
        {
            end = PumpReceivedOnOwnThread();
        }
        catch (Exception e)
        {
            end = Classify(e);
        }
        EndReceive(end);
    }

    /// <summary>
    /// <see cref="PumpReceivedAsync"/> on a thread of its own: the thread blocks in the kernel until bytes arrive, and
    /// with <see cref="TransportOptions.InlineHandOffs"/> the application's read runs on it too, so a received frame
    /// reaches the application with one wake-up. A flush the application holds back (the pipe is over its pause
    /// threshold) blocks the thread: that is the backpressure, as the awaited flush is on the pool.
    /// </summary>
    private ShutdownReason PumpReceivedOnOwnThread()
    {
        var writer = _input.Writer;
        while (true)
        {
            // Waits before it takes a block, as WaitForDataBeforeAllocatingBuffer does: an idle connection holds none.
            if (!WaitReadable()) continue;
            if (IsAborted) return ShutdownReason.LocalAbort;
            var memory = writer.GetMemory(ReceiveBytesMin);
            int received = ReceiveReady(memory.Span);
            if (received == 0) return ShutdownReason.PeerClosed;
            Commit(writer, received);
            var flushing = writer.FlushAsync();
            var flush = flushing.IsCompleted ? flushing.Result : flushing.AsTask().GetAwaiter().GetResult();
            if (flush.IsCanceled) return ShutdownReason.LocalAbort;
            if (flush.IsCompleted) return ShutdownReason.LocalClose;
        }
    }

    private async Task<ShutdownReason> PumpReceivedAsync()
    {
        var writer = _input.Writer;
        while (true)
        {
            // Kestrel's zero-byte read: an idle connection holds no block, only one waiting for data does.
            if (Options.WaitForDataBeforeAllocatingBuffer) await WaitForDataAsync().ConfigureAwait(false);
            var memory = writer.GetMemory(ReceiveBytesMin);
            int received = await ReceiveAsync(memory).ConfigureAwait(false);
            if (received == 0) return ShutdownReason.PeerClosed;
            Commit(writer, received);
            var flush = await writer.FlushAsync().ConfigureAwait(false);
            if (flush.IsCanceled) return ShutdownReason.LocalAbort;    // Abort woke us; its reason is recorded
            if (flush.IsCompleted) return ShutdownReason.LocalClose;   // the app stopped reading
        }
    }
}
