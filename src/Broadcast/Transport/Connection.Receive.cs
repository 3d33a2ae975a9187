namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    // Ask for at least this much room per receive; the pipe hands out the rest of its current block.
    private const int ReceiveBytesMin = 2048;

    private long _lastReceiveTimestamp;

    private async Task ReceiveLoopAsync()
    {
        var writer = _input.Writer;
        ShutdownReason end;
        try
        {
            end = await PumpReceivedAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            end = Classify(e);
        }
        Record(end);
        writer.Complete();
        // The receive side is over, so is the connection: stop the send loop too.
        _output.Reader.CancelPendingRead();
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
            // Stamp before the flush: once the app sees these bytes, the idle clock has seen them too.
            Volatile.Write(ref _lastReceiveTimestamp, Time.GetTimestamp());
            writer.Advance(received);
            CountReceived(received);
            var flush = await writer.FlushAsync().ConfigureAwait(false);
            if (flush.IsCanceled) return ShutdownReason.LocalAbort;    // Abort woke us; its reason is recorded
            if (flush.IsCompleted) return ShutdownReason.LocalClose;   // the app stopped reading
        }
    }
}
