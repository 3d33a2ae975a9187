using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Asks members for their state over the wire, as <c>abcast status</c> does: a subscriber-kind connection (made like a
/// <see cref="Subscriber"/>'s, same hello) whose first frame is a StatusRequest. A member that cannot be reached, refuses,
/// or does not answer within <see cref="ClientOptions.ConnectTimeout"/> (connect, hello and reply together) is unreachable.
/// </summary>
public static class StatusQuery
{
    /// <summary>Every member of <paramref name="options"/> asked at once: its reply, or null when it is unreachable.</summary>
    public static async Task<IReadOnlyDictionary<ushort, StatusReplyMessage?>> QueryAllAsync(SubscriberOptions options,
        CancellationToken cancellationToken = default)
    {
        var ids = options.Members.Keys.Order().ToArray();
        var replies = await Task.WhenAll(ids.Select(id => TryQueryAsync(options, id, cancellationToken))).ConfigureAwait(false);
        return ids.Select((id, i) => (id, replies[i])).ToDictionary(p => p.id, p => p.Item2);
    }

    /// <summary>The state of member <paramref name="member"/>, or null when it is unreachable. Throws only when cancelled.</summary>
    public static async Task<StatusReplyMessage?> TryQueryAsync(SubscriberOptions options, ushort member, CancellationToken cancellationToken = default)
    {
        var connector = new ClientConnector(options, PeerKind.Subscriber);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);
        try
        {
            var connection = await connector.TryConnectAsync(member, deadline.Token).ConfigureAwait(false);
            if (connection is null) return null;
            await using (connection.ConfigureAwait(false))
            {
                MessageWriter.Write(connection.Output, new StatusRequestMessage());
                await connection.Output.FlushAsync(deadline.Token).ConfigureAwait(false);
                return await ReadReplyAsync(connection, deadline.Token).ConfigureAwait(false);
            }
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
                // A member that does not know the request answers with an error: unreachable for status.
                StatusReplyMessage? reply = frame.Type == MessageType.StatusReply ? MessageReader.ReadStatusReply(frame) : null;
                connection.Input.AdvanceTo(buffer.Start);
                return reply;
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled) return null;
        }
    }
}
