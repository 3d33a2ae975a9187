namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        bool orderly = false;
        try
        {
            orderly = await PumpSendsAsync().ConfigureAwait(false);
            if (orderly)
            {
                Record(ShutdownReason.LocalClose);
                ShutdownSend();
                StartCloseTimer();
            }
        }
        catch (Exception e)
        {
            Record(Classify(e));
            // A failed send leaves the receive side useless too.
            Abort(ShutdownReason.LocalAbort);
        }
        reader.Complete();
    }

    /// <summary>True when the app completed Output (orderly close); false when cancelled (receive ended, or abort).</summary>
    private async Task<bool> PumpSendsAsync()
    {
        var reader = _output.Reader;
        while (true)
        {
            var result = await reader.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                return false;
            }
            // Everything flushed since the last send goes out in one gathered send: the coalescing point.
            if (!buffer.IsEmpty)
            {
                await SendAsync(buffer).ConfigureAwait(false);
                CountSent(buffer.Length);
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted) return true;
        }
    }
}
