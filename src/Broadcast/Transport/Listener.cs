using System.Net;
using System.Threading.Channels;

namespace AtomicBcast.Transport;

/// <summary>
/// What every listener shares: accepted connections exchange hellos in the background and only the ones that
/// succeed are queued for <see cref="AcceptAsync"/>; a failure is logged and reported, never surfaced as a connection.
/// </summary>
internal abstract class Listener : IListener
{
    private readonly Channel<IConnection> _accepted;
    private readonly TransportOptions _options;
    private readonly ConnectionBudget _budget;
    private int _disposed;

    protected Listener(TransportOptions options)
    {
        _options = options;
        _budget = new ConnectionBudget(options.ConnectionsMax, options.ConnectionsPerAddressMax);
        _accepted = Channel.CreateBounded<IConnection>(new BoundedChannelOptions(options.AcceptBacklog)
        {
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public abstract EndPoint LocalEndPoint { get; }

    public async ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(GetType().Name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await StopAcceptingAsync().ConfigureAwait(false);
        _accepted.Writer.TryComplete();
        // Connections that were accepted but never taken have no owner: drop them.
        while (_accepted.Reader.TryRead(out var orphan)) await orphan.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the accept loop (or unregisters); already-taken connections live on.</summary>
    protected abstract ValueTask StopAcceptingAsync();

    /// <summary>Connections accepted and not yet closed (hello exchanges included).</summary>
    public int OpenConnections => _budget.Open;

    /// <summary>Takes a place in the connection limits for an accepted link from <paramref name="remote"/>; false (logged
    /// and reported) when a limit is reached: the caller then drops the link at once, before anything is allocated for it.</summary>
    protected bool TryReserve(EndPoint? remote)
    {
        if (_budget.TryReserve(remote) is not { } why) return true;
        ReportHandshakeFailure(_options, remote, new ShutdownReason(ShutdownKind.LimitExceeded, why));
        return false;
    }

    /// <summary>Gives back a place whose link never became a connection.</summary>
    protected void ReleaseReserved(EndPoint? remote) => _budget.Release(remote);

    /// <summary>Starts a connection whose place <see cref="TryReserve"/> took; the place is given back when it closes.</summary>
    protected void AdmitReserved(Connection connection)
    {
        var remote = connection.RemoteEndPoint;
        connection.Closed.ContinueWith(_ => _budget.Release(remote), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Admit(connection);
    }

    protected void Admit(Connection connection)
    {
        connection.Start();
        _ = HandshakeThenQueueAsync(connection);
    }

    private async Task HandshakeThenQueueAsync(Connection connection)
    {
        var failure = await connection.HandshakeAsync(initiator: false, CancellationToken.None).ConfigureAwait(false);
        if (failure is { } reason)
        {
            ReportHandshakeFailure(_options, connection.RemoteEndPoint, reason);
            return;
        }
        bool queued;
        try
        {
            await _accepted.Writer.WriteAsync(connection).ConfigureAwait(false);
            queued = true;
        }
        catch (ChannelClosedException)
        {
            queued = false;
        }
        if (!queued) await connection.DisposeAsync().ConfigureAwait(false);
    }

    internal static void ReportHandshakeFailure(TransportOptions options, EndPoint? remote, ShutdownReason reason)
    {
        TransportLog.HandshakeFailed(options.Logger, remote?.ToString() ?? "?", reason);
        options.HandshakeFailed?.Invoke(remote, reason);
    }
}
