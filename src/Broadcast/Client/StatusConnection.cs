using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// A connection kept open to one member to ask for its state as often as needed: the member answers every
/// StatusRequest on it. Made by <see cref="StatusQuery.TryConnectAsync"/>. Asking over it costs the member one frame
/// in and one out, where <see cref="StatusQuery.TryQueryAsync"/> makes a connection each time (a handshake, a receive
/// thread): what a monitor that asks while the member is loaded wants (<c>abcast bench</c> reads the members' figures at
/// both ends of its measurement window). Not for concurrent use.
/// </summary>
public sealed class StatusConnection : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly TimeSpan _replyTimeout;
    private bool _broken;

    internal StatusConnection(IConnection connection, TimeSpan replyTimeout)
    {
        _connection = connection;
        _replyTimeout = replyTimeout;
    }

    /// <summary>
    /// The member's state now, or null when it does not answer within the options' <see cref="ClientOptions.ConnectTimeout"/>,
    /// closed the connection or answered with something else. After a null the connection is not used again (a late
    /// reply would answer the next question): every later call returns null too. Throws only when cancelled.
    /// </summary>
    public async Task<StatusReplyMessage?> TryQueryAsync(CancellationToken cancellationToken = default)
    {
        if (_broken) return null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_replyTimeout);
        StatusReplyMessage? reply = null;
        try
        {
            MessageWriter.Write(_connection.Output, new StatusRequestMessage());
            await _connection.Output.FlushAsync(deadline.Token).ConfigureAwait(false);
            reply = await ReadReplyAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TransportException or WireException or IOException or ObjectDisposedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A broken connection is a null whenever it shows; only the caller's own cancellation throws.
        }
        _broken = reply is null;
        return reply;
    }

    private async Task<StatusReplyMessage?> ReadReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _connection.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                // A member that does not know the request answers with an error: unreachable for status.
                StatusReplyMessage? reply = frame.Type == MessageType.StatusReply ? MessageReader.ReadStatusReply(frame) : null;
                _connection.Input.AdvanceTo(buffer.Start);
                return reply;
            }
            _connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled) return null;
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
