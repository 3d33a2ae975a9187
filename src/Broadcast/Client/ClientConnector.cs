using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>Connects a client to members in turn, starting from a preferred one, as a publisher or a subscriber.</summary>
internal sealed class ClientConnector
{
    private readonly ClientOptions _options;
    private readonly TcpTransport _transport;
    private readonly ushort[] _ids;

    public ClientConnector(ClientOptions options, PeerKind kind)
    {
        options.Validate();
        _options = options;
        _ids = options.Members.Keys.OrderBy(id => id).ToArray();
        _transport = new TcpTransport(new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, kind, 0, options.ClusterId),
            ConnectTimeout = options.ConnectTimeout,
            HelloTimeout = options.ConnectTimeout,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectionsExpected = 1,
            // A publisher's acks and a subscriber's deliveries: the kernel wakes the thread that receives, instead of the
            // socket engine's thread handing each receive to a worker (a client still reads on the thread pool: it does
            // not read inline). Measured: one-in-flight p50 0.95-1.07 ms against 0.87-1.41 ms without it. Two places:
            // the next connection may be made before the last one's link is released.
            ReceiveThreadsMax = kind is PeerKind.Publisher or PeerKind.Subscriber ? 2 : 0,
            Tls = options.Tls,
            Auth = new HelloAuth { ClientToken = options.Token is { } token ? System.Text.Encoding.UTF8.GetBytes(token) : default },
        });
    }

    public IReadOnlyList<ushort> Ids => _ids;

    /// <summary>The member after <paramref name="id"/> in id order (wrapping).</summary>
    public ushort Next(ushort id) => _ids[(Array.IndexOf(_ids, id) + 1) % _ids.Length];

    public ushort First(ushort? preferred) => preferred is { } p && _options.Members.ContainsKey(p) ? p : _ids[0];

    /// <summary>One attempt at member <paramref name="id"/>; null when it cannot be reached. Throws
    /// <see cref="AccessDeniedException"/> when the member refused our token: that is final, not worth a retry.</summary>
    public async Task<IConnection?> TryConnectAsync(ushort id, CancellationToken cancellationToken)
    {
        try
        {
            return await _transport.ConnectAsync(_options.Members[id], cancellationToken).ConfigureAwait(false);
        }
        catch (TransportException e) when (e.Reason is { Kind: ShutdownKind.AccessDenied, Code: not ErrorCode.None } denied)
        {
            throw new AccessDeniedException(denied.Code, $"member {id} of cluster '{_options.ClusterId}' refused this client: {denied.Detail}");
        }
        catch (TransportException)
        {
            return null;
        }
    }

    /// <summary>Tries members from <paramref name="start"/> on, pausing after each full round, until one answers.</summary>
    public async Task<(IConnection Connection, ushort Id)> ConnectAnyAsync(ushort start, int roundsMax, CancellationToken cancellationToken)
    {
        ushort id = start;
        for (int attempt = 0; roundsMax <= 0 || attempt < roundsMax * _ids.Length; attempt++)
        {
            if (await TryConnectAsync(id, cancellationToken).ConfigureAwait(false) is { } connection) return (connection, id);
            id = Next(id);
            if (id == start) await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
        }
        throw new PublishException($"no member of cluster '{_options.ClusterId}' could be reached ({string.Join(", ", _options.Members.Values)})");
    }
}
