using System.Buffers;
using System.IO.Pipelines;
using System.Net;

namespace AtomicBcast.Transport.InMemory;

/// <summary>
/// A connection whose link is a pair of wire pipes. FIN is completing our wire writer; RST is completing it with
/// <see cref="ConnectionResetException"/>, which the peer's next wire read throws.
/// </summary>
internal sealed class InMemoryConnection(PipeReader wireIn, PipeWriter wireOut, TransportOptions options,
    ConnectionPipeOptions pipes, EndPoint remote) : Connection(options, pipes, remote)
{
    private int _sendShutdown;

    protected override async ValueTask<int> ReceiveAsync(Memory<byte> buffer)
    {
        var result = await wireIn.ReadAsync().ConfigureAwait(false);
        if (result.IsCanceled) throw new OperationCanceledException("aborted");
        var available = result.Buffer;
        if (available.IsEmpty && result.IsCompleted)
        {
            wireIn.AdvanceTo(available.End);
            return 0;
        }
        int count = (int)Math.Min(available.Length, buffer.Length);
        available.Slice(0, count).CopyTo(buffer.Span);
        wireIn.AdvanceTo(available.GetPosition(count));
        return count;
    }

    protected override async ValueTask WaitForDataAsync()
    {
        var result = await wireIn.ReadAsync().ConfigureAwait(false);
        // Examine nothing, so the receive that follows gets these bytes at once.
        wireIn.AdvanceTo(result.Buffer.Start);
        if (result.IsCanceled) throw new OperationCanceledException("aborted");
    }

    protected override async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer) wireOut.Write(segment.Span);
        var flush = await wireOut.FlushAsync().ConfigureAwait(false);
        if (flush.IsCanceled) throw new OperationCanceledException("aborted");
        // The peer released its end: like EPIPE on a socket.
        if (flush.IsCompleted) throw new ConnectionResetException("peer is gone");
    }

    protected override void ShutdownSend()
    {
        Interlocked.Exchange(ref _sendShutdown, 1);
        wireOut.Complete();
    }

    protected override void AbortLink()
    {
        // Only wake the loops here (Complete is not safe while they are inside the pipes); DisposeLink sends the RST.
        wireIn.CancelPendingRead();
        wireOut.CancelPendingFlush();
    }

    protected override void DisposeLink()
    {
        wireIn.Complete();
        if (Interlocked.Exchange(ref _sendShutdown, 1) == 0)
            wireOut.Complete(IsAborted ? new ConnectionResetException("connection reset by peer") : null);
    }

    protected override ShutdownReason Classify(Exception error) => error switch
    {
        ConnectionResetException => ShutdownReason.PeerReset,
        OperationCanceledException => ShutdownReason.LocalAbort,
        InvalidOperationException when IsAborted => ShutdownReason.LocalAbort,
        _ => new ShutdownReason(ShutdownKind.TransportError, error.Message),
    };
}
