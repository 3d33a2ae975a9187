using System.Net;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Asks members for their state over the wire (a subscriber-kind connection whose first frame is a StatusRequest), as
/// <c>abcast status</c> does. A member that cannot be reached, refuses, or does not answer within the timeout is unreachable.
/// </summary>
public static class StatusQuery
{
    /// <summary>
    /// The state of the member at <paramref name="member"/>, or null when it did not answer within <paramref name="timeout"/>
    /// (connect, hello and reply together). Never throws for a member's failure; throws only when cancelled.
    /// </summary>
    public static async Task<StatusReplyMessage?> TryQueryAsync(IPEndPoint member, string clusterId, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        var transport = new TcpTransport(new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Subscriber, 0, clusterId),
            ConnectTimeout = timeout,
            HelloTimeout = timeout,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectionsExpected = 1,
        });
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await using var connection = await transport.ConnectAsync(member, deadline.Token).ConfigureAwait(false);
            MessageWriter.Write(connection.Output, new StatusRequestMessage());
            await connection.Output.FlushAsync(deadline.Token).ConfigureAwait(false);
            return await ReadReplyAsync(connection, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && e is TransportException or OperationCanceledException or WireException or IOException or ObjectDisposedException)
        {
            return null;
        }
    }

    private static async Task<StatusReplyMessage?> ReadReplyAsync(IConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                // An older member answers a request it does not know with an error: unreachable for status.
                StatusReplyMessage? reply = frame.Type == MessageType.StatusReply ? MessageReader.ReadStatusReply(frame) : null;
                connection.Input.AdvanceTo(buffer.Start);
                return reply;
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled) return null;
        }
    }
}
