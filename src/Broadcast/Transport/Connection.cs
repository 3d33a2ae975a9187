using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>
/// A link (socket or in-memory wire) pumped into an app-facing pipe pair, the Kestrel way:
/// a receive loop link -> Input and a send loop Output -> link.
/// <para>Requirements:</para>
/// <list type="bullet">
/// <item>Backpressure both ways: a full Input pauses the receive loop (the peer's sends then block in the kernel);
/// unsent Output above its threshold makes the writer's FlushAsync wait.</item>
/// <item>One reason per connection: the first recorded wins; later ones (errors caused by our own abort) are ignored.</item>
/// <item>The receive side ending ends the connection: the send loop stops at once (unsent bytes are dropped).</item>
/// <item><see cref="Closed"/> completes only after both loops stopped and the link was released.</item>
/// </list>
/// Subclasses supply the link's five operations; everything else (handshake, idle, close) lives here.
/// </summary>
internal abstract partial class Connection : IConnection
{
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly TaskCompletionSource<ShutdownReason> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private ShutdownReason _reason;
    private int _aborted;
    private long _bytesReceived;
    private long _bytesSent;

    protected Connection(TransportOptions options, ConnectionPipeOptions pipes, EndPoint? remoteEndPoint)
    {
        Options = options;
        Time = options.TimeProvider;
        RemoteEndPoint = remoteEndPoint;
        _input = new Pipe(pipes.Input);
        _output = new Pipe(pipes.Output);
    }

    protected TransportOptions Options { get; }
    protected TimeProvider Time { get; }

    public PipeReader Input => _input.Reader;
    public PipeWriter Output => _output.Writer;
    public HelloMessage RemoteHello { get; private set; }
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>Whether the link is TLS.</summary>
    public bool IsEncrypted { get; protected init; }

    /// <summary>TLS: the peer presented a certificate that chains to our trusted CA.</summary>
    public bool PeerCertified { get; protected init; }
    public Task<ShutdownReason> Closed => _closed.Task;
    public long BytesReceived => Volatile.Read(ref _bytesReceived);
    public long BytesSent => Volatile.Read(ref _bytesSent);
    protected bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; 0 means the peer closed in order (FIN).</summary>
    protected abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer);

    /// <summary>Completes when bytes (or the end) are ready to receive, without taking them.</summary>
    protected abstract ValueTask WaitForDataAsync();

    /// <summary>Sends all of <paramref name="buffer"/> (one gathered send where the link allows it).</summary>
    protected abstract ValueTask SendAsync(ReadOnlySequence<byte> buffer);

    /// <summary>Orderly end of our direction (FIN) after everything was sent.</summary>
    protected abstract void ShutdownSend();

    /// <summary>Abrupt end (RST), from any thread: pending receive and send must fail or return soon.</summary>
    protected abstract void AbortLink();

    /// <summary>Releases the link once both loops have stopped.</summary>
    protected abstract void DisposeLink();

    /// <summary>Sorts a link error into a reason (reset, our own abort, other).</summary>
    protected abstract ShutdownReason Classify(Exception error);

    /// <summary>Starts the loops and timers; the hello exchange follows (see Connection.Handshake.cs).</summary>
    public void Start()
    {
        StartIdleTimer();
        _ = RunAsync();
    }

    public Task CloseAsync()
    {
        Record(ShutdownReason.LocalClose);
        _output.Writer.Complete();
        return Closed;
    }

    public void Abort(ShutdownReason reason)
    {
        Record(reason);
        if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
        AbortLink();
        // The loops may be parked on the pipes rather than on the link: wake them.
        _input.Writer.CancelPendingFlush();
        _output.Reader.CancelPendingRead();
    }

    public async ValueTask DisposeAsync()
    {
        Abort(ShutdownReason.LocalAbort);
        await Closed.ConfigureAwait(false);
    }

    public override string ToString() => $"{GetType().Name}({RemoteEndPoint})";

    /// <summary>Keeps the first reason; returns whether this one was it.</summary>
    protected bool Record(ShutdownReason reason)
    {
        lock (_gate)
        {
            if (_reason.Kind != ShutdownKind.None) return false;
            _reason = reason;
            return true;
        }
    }

    private ShutdownReason RecordedReason
    {
        get { lock (_gate) return _reason; }
    }

    private async Task RunAsync()
    {
        // Both loops catch their own errors; awaiting them cannot throw.
        var receiving = ReceiveLoopAsync();
        var sending = SendLoopAsync();
        await Task.WhenAll(receiving, sending).ConfigureAwait(false);
        StopTimers();
        DisposeLink();
        var reason = RecordedReason;
        TransportLog.ConnectionClosed(Options.Logger, RemoteEndPoint?.ToString() ?? "?", reason.Kind, reason.Detail ?? "");
        _closed.TrySetResult(reason);
    }

    private void CountReceived(int bytes) => Volatile.Write(ref _bytesReceived, _bytesReceived + bytes);
    private void CountSent(long bytes) => Volatile.Write(ref _bytesSent, _bytesSent + bytes);
}
