using System.Net;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>
/// An outbound link to one peer that stays up: connect, hand the connection to the owner, and when it ends (or a
/// connect fails) wait a backoff and connect again, until disposed. Failures are counted and their reasons kept,
/// never thrown. Does not read or write the connection itself: that is the owner's <c>onConnected</c>.
/// An exception from <c>onConnected</c> is a bug in the owner: it stops the link and <see cref="DisposeAsync"/> rethrows it.
/// </summary>
public sealed class PeerLink : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly EndPoint _remote;
    private readonly Func<IConnection, CancellationToken, Task> _onConnected;
    private readonly PeerLinkOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;
    private int _failures;
    private int _connections;
    private ShutdownReason _lastFailure;

    /// <param name="transport">Where connections come from (TCP or in-memory).</param>
    /// <param name="remote">The peer's listening address.</param>
    /// <param name="onConnected">Runs the connection; when its task ends the link closes it and reconnects.</param>
    /// <param name="options">Backoff, randomness and clock.</param>
    public PeerLink(ITransport transport, EndPoint remote, Func<IConnection, CancellationToken, Task> onConnected, PeerLinkOptions options)
    {
        _transport = transport;
        _remote = remote;
        _onConnected = onConnected;
        _options = options;
    }

    /// <summary>Connect attempts that failed (refused, hello refused, wrong node) since start.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Connections established since start.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public ShutdownReason LastFailure
    {
        get { lock (_stop) return _lastFailure; }
    }

    public void Start() => _run = Task.Run(() => RunAsync(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        int attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            var connection = await TryConnectAsync(stop).ConfigureAwait(false);
            if (connection is null)
            {
                await BackoffAsync(attempt++, stop).ConfigureAwait(false);
                continue;
            }
            attempt = 0;
            await RunConnectionAsync(connection, stop).ConfigureAwait(false);
            // Even after a good connection, pause once: a peer that accepts then drops must not make us spin.
            await BackoffAsync(0, stop).ConfigureAwait(false);
        }
    }

    private async Task<IConnection?> TryConnectAsync(CancellationToken stop)
    {
        IConnection connection;
        try
        {
            connection = await _transport.ConnectAsync(_remote, stop).ConfigureAwait(false);
        }
        catch (TransportException e)
        {
            NoteFailure(e.Reason);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A transport that let another error through must not end the link for good: a member would stay deaf
            // to this peer until restarted. Count it as a failed attempt and try again.
            NoteFailure(new ShutdownReason(ShutdownKind.TransportError, e.Message));
            return null;
        }
        if (_options.ExpectedNodeId is { } expected && connection.RemoteHello.NodeId != expected)
        {
            var reason = ShutdownReason.HelloRejected($"{_remote} is node {connection.RemoteHello.NodeId}, expected {expected}");
            connection.Abort(reason);
            await connection.DisposeAsync().ConfigureAwait(false);
            NoteFailure(reason);
            return null;
        }
        return connection;
    }

    private async Task RunConnectionAsync(IConnection connection, CancellationToken stop)
    {
        Interlocked.Increment(ref _connections);
        TransportLog.LinkEstablished(_options.Logger, _remote.ToString() ?? "?");
        try
        {
            await _onConnected(connection, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void NoteFailure(ShutdownReason reason)
    {
        lock (_stop) _lastFailure = reason;
        Interlocked.Increment(ref _failures);
    }

    private async Task BackoffAsync(int attempt, CancellationToken stop)
    {
        var delay = _options.Backoff.Delay(attempt, _options.Random);
        if (attempt > 0 || Failures > 0) TransportLog.LinkRetry(_options.Logger, _remote.ToString() ?? "?", attempt, delay, LastFailure);
        try
        {
            await Task.Delay(delay, _options.TimeProvider, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>How a <see cref="PeerLink"/> retries. Random and TimeProvider are injectable for seeded tests.</summary>
public sealed record PeerLinkOptions
{
    public BackoffPolicy Backoff { get; init; } = BackoffPolicy.Default;
    public Random Random { get; init; } = new();
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    public Microsoft.Extensions.Logging.ILogger Logger { get; init; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>When set, a peer whose hello names another node id is refused (a misconfigured address).</summary>
    public ushort? ExpectedNodeId { get; init; }
}
