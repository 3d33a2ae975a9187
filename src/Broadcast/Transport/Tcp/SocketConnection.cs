using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;

namespace AtomicBcast.Transport.Tcp;

/// <summary>A connected socket pumped into the pipe pair of <see cref="Connection"/>.</summary>
internal sealed class SocketConnection : Connection
{
    private readonly Socket _socket;
    private readonly ObjectPool<SocketSender> _senders;
    private readonly SocketSender _sender;
    private readonly ReceiveThreadBudget? _receiveThread; // set: this connection holds a place in the budget

    public SocketConnection(Socket socket, TransportOptions options, ConnectionPipeOptions pipes, ObjectPool<SocketSender> senders,
        ReceiveThreadBudget receiveThreads)
        : base(options, pipes, socket.RemoteEndPoint)
    {
        _socket = socket;
        _senders = senders;
        _sender = senders.Get();
        // Last: nothing after it can throw, so a place taken is always given back by DisposeLink. Linux only: there,
        // disposing the socket wakes a thread blocked in Poll at once (an abort must not wait for the poll's timeout).
        if (OperatingSystem.IsLinux() && receiveThreads.TryTake()) _receiveThread = receiveThreads;
    }

    /// <summary>Settings every socket gets, accepted or connected.</summary>
    public static void Configure(Socket socket)
    {
        // Frames are coalesced by the send loop; Nagle would only add latency on top.
        socket.NoDelay = true;
    }

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) =>
        _socket.ReceiveAsync(buffer, SocketFlags.None);

    protected override bool ReceivesOnOwnThread => _receiveThread is not null;

    // Disposing the socket (an abort) wakes a waiting poll at once; the timeout is only a safety net. Poll's SelectRead
    // ignores an error-only wake-up (POLLERR without POLLIN): asking for errors too lets Receive report it, where
    // treating it as a timeout would poll again at once, for ever.
    protected override bool WaitReadable() =>
        _socket.Poll(1_000_000, SelectMode.SelectRead) || _socket.Poll(0, SelectMode.SelectError);

    protected override int ReceiveReady(Span<byte> buffer) => _socket.Receive(buffer, SocketFlags.None);

    protected override ValueTask WaitForDataAsync()
    {
        var waiting = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        if (waiting.IsCompletedSuccessfully)
        {
            _ = waiting.Result;
            return ValueTask.CompletedTask;
        }
        return AwaitDataAsync(waiting);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitDataAsync(ValueTask<int> waiting) => await waiting.ConfigureAwait(false);

    protected override ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        // Gathered sends of a few segments each, completing synchronously while the kernel buffer has room.
        while (!buffer.IsEmpty)
        {
            var sending = _sender.SendAsync(_socket, buffer, out long bytes);
            buffer = buffer.Slice(bytes);
            if (!sending.IsCompletedSuccessfully) return AwaitSendAsync(sending, buffer);
            _ = sending.Result;
        }
        return ValueTask.CompletedTask;
    }

    // Pooled: a send that has to wait (kernel buffer full) is common under load and must not allocate a box.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitSendAsync(ValueTask<int> sending, ReadOnlySequence<byte> rest)
    {
        await sending.ConfigureAwait(false);
        if (!rest.IsEmpty) await SendAsync(rest).ConfigureAwait(false);
    }

    protected override void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the peer: the receive loop reports that.
        }
    }

    protected override void AbortLink() => Reset(_socket);

    /// <summary>Closes with a RST (linger 0): the peer learns at once that unsent bytes are lost.</summary>
    internal static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    protected override void DisposeLink()
    {
        _socket.Dispose();
        _sender.Clear();
        _senders.Return(_sender);
        _receiveThread?.Return();
    }

    protected override ShutdownReason Classify(Exception error) => error switch
    {
        SocketException e when SocketErrors.IsConnectionReset(e.SocketErrorCode) => ShutdownReason.PeerReset,
        SocketException e when SocketErrors.IsLocalAbort(e.SocketErrorCode) => ShutdownReason.LocalAbort,
        ObjectDisposedException => ShutdownReason.LocalAbort,
        SocketException e => new ShutdownReason(ShutdownKind.TransportError, e.SocketErrorCode.ToString()),
        _ => new ShutdownReason(ShutdownKind.TransportError, error.Message),
    };
}
