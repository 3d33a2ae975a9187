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

    /// <summary>The state of member <paramref name="member"/>, or null when it is unreachable. Throws only when cancelled.
    /// Connects for this one question; to ask again and again, keep a <see cref="StatusConnection"/>.</summary>
    public static async Task<StatusReplyMessage?> TryQueryAsync(SubscriberOptions options, ushort member, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout); // connect, hello and reply together
        try
        {
            var connection = await TryConnectAsync(options, member, deadline.Token).ConfigureAwait(false);
            if (connection is null) return null;
            await using (connection.ConfigureAwait(false)) return await connection.TryQueryAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>A connection to member <paramref name="member"/> to ask over as often as needed, or null when it cannot be
    /// reached within <see cref="ClientOptions.ConnectTimeout"/>. Each question then has that long for its reply. Throws
    /// only when cancelled.</summary>
    public static async Task<StatusConnection?> TryConnectAsync(SubscriberOptions options, ushort member, CancellationToken cancellationToken = default)
    {
        var connector = new ClientConnector(options, PeerKind.Subscriber);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);
        try
        {
            var connection = await connector.TryConnectAsync(member, deadline.Token).ConfigureAwait(false);
            return connection is null ? null : new StatusConnection(connection, options.ConnectTimeout);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
