using AtomicBcast.Client;
using System.Text;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Node;

/// <summary>A connected publisher: its token for the core's acks and its outgoing queue.</summary>
internal sealed record ClientSession(long Token, IConnection Connection, OutboundQueue Queue);

// Connections: peers (inbound and our outbound links), publishers and subscribers.
public sealed partial class MemberHost
{
    /// <summary>Connections that receive on a thread of their own (<see cref="TransportOptions.ReceiveThreadsMax"/>):
    /// enough for the peer links of a cluster of up to 5 members and a few publishers and subscribers.</summary>
    private const int ReceiveThreadsMax = 16;

    /// <summary>The member's transport: its hello proves the cluster secret, checks client tokens and rights, and
    /// bounds the connections a peer can open.</summary>
    private static ITransport CreateTransport(NodeOptions options, ILogger logger)
    {
        var transport = new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, options.NodeId, options.ClusterId),
            IdleTimeout = Timeout.InfiniteTimeSpan,
            HelloTimeout = options.HelloTimeout,
            ConnectionsMax = options.ConnectionsMax,
            ConnectionsPerAddressMax = options.ConnectionsPerAddressMax,
            Logger = logger,
            Tls = options.Tls,
            // Our readers only parse frames and post them to the loop; our sends come mostly from the loop's pump.
            InlineHandOffs = true,
            // A received frame reaches the loop after one thread wake-up, not two. Places go to the first connections,
            // before their hello: usually the peer links (two per peer), which open at start-up; connections past the
            // bound receive the usual way. (After a restart, clients that reconnect first can take them.)
            ReceiveThreadsMax = ReceiveThreadsMax,
            Auth = new HelloAuth
            {
                ClusterSecret = options.ClusterSecret is { } secret ? Encoding.UTF8.GetBytes(secret) : default,
                ClientCredentials = options.ClientTokens,
                AuthorizeClient = options.ClientTokens.Count == 0 ? null : Authorize,
            },
        };
        return new TcpTransport(transport);
    }

    /// <summary>Hello time: whether a client that proved <paramref name="credential"/> may be what its hello says.</summary>
    private static ErrorMessage? Authorize(HelloMessage hello, ClientCredential? credential)
    {
        var needed = hello.Kind switch
        {
            PeerKind.Publisher => ClientRights.Publish,
            PeerKind.Subscriber => ClientRights.Subscribe,
            _ => ClientRights.None, // other client roles (status) need a valid token, no particular right
        };
        if (credential is null) return new ErrorMessage(ErrorCode.Unauthenticated, $"{hello.Kind} presented no token this cluster knows");
        if ((credential.Rights & needed) != needed)
            return new ErrorMessage(ErrorCode.Unauthorized, $"token '{credential.Name}' does not have the {needed.ToString().ToLowerInvariant()} right");
        return null;
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            IConnection connection;
            try
            {
                connection = await _listener!.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            Track(Task.Run(() => ServeAsync(connection, token)));
        }
    }

    private void Track(Task task)
    {
        _connections[task] = true;
        task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task ServeAsync(IConnection connection, CancellationToken stop)
    {
        var hello = connection.RemoteHello;
        try
        {
            switch (hello.Kind)
            {
                case PeerKind.Member when _options.Members.ContainsKey(hello.NodeId) && hello.NodeId != _self:
                    await ReadPeerAsync(hello.NodeId, connection, stop).ConfigureAwait(false);
                    break;
                case PeerKind.Member:
                    NodeLog.UnknownMember(_logger, connection.RemoteEndPoint?.ToString() ?? "?", hello.NodeId);
                    break;
                case PeerKind.Publisher:
                    await ServePublisherAsync(connection, stop).ConfigureAwait(false);
                    break;
                case PeerKind.Subscriber:
                    await ServeSubscriberAsync(connection, stop).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            // One connection's failure (malformed input, reset) closes that connection only.
            NodeLog.ConnectionFailed(_logger, connection.RemoteEndPoint?.ToString() ?? "?", hello.Kind.ToString(), e.Message);
            connection.Abort(new ShutdownReason(ShutdownKind.ProtocolViolation, e.Message));
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Our outbound link to a peer: its queue drains into the connection; whatever the peer sends back is handled too.</summary>
    private async Task RunPeerLinkAsync(ushort peer, OutboundQueue queue, IConnection connection, CancellationToken stop)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var drain = queue.DrainAsync(connection, both.Token);
        var read = ReadPeerAsync(peer, connection, both.Token);
        await Task.WhenAny(drain, read).ConfigureAwait(false);
        await both.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(drain, read).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The link reconnects; why this connection ended is the transport's log, unless our own side failed to write
            // a message (a bug: say so, or the link would silently retry the same message forever).
            if (drain.Exception?.InnerException is { } e and not OperationCanceledException and not ObjectDisposedException)
                NodeLog.ConnectionFailed(_logger, connection.RemoteEndPoint?.ToString() ?? $"member {peer}", "Member", e.Message);
        }
    }

    private Task ReadPeerAsync(ushort from, IConnection connection, CancellationToken stop) =>
        OwnedFrames.ReadAllAsync(connection.Input, message => PostAsync(LoopEvent.PeerMessage(from, message), stop), stop, ordered: true);

    /// <summary>Loop thread: hands a peer's message to the core, then drops our reference of its batches.</summary>
    private void DispatchPeer(ushort from, in Envelope message)
    {
        try
        {
            switch (message.Type)
            {
                case MessageType.PreVote: _member.Receive(from, message.AsPreVote()); break;
                case MessageType.PreVoteReply: _member.Receive(from, message.AsPreVoteReply()); break;
                case MessageType.Prepare: _member.Receive(from, message.AsPrepare()); break;
                case MessageType.Promise: _member.Receive(from, message.AsPromise()); break;
                case MessageType.Accept: _member.Receive(from, message.AsAccept()); break;
                case MessageType.Accepted: _member.Receive(from, message.AsAccepted()); break;
                case MessageType.Rejected: _member.Receive(from, message.AsRejected()); break;
                case MessageType.Heartbeat: _member.Receive(from, message.AsHeartbeat()); break;
                case MessageType.Fetch: _member.Receive(from, message.AsFetch()); break;
                case MessageType.FetchReply: _member.Receive(from, message.AsFetchReply()); break;
                case MessageType.Checkpoint: _member.Receive(from, message.AsCheckpoint()); break;
            }
        }
        finally
        {
            OwnedFrames.Release(message);
        }
    }

    private async Task ServePublisherAsync(IConnection connection, CancellationToken stop)
    {
        var session = new ClientSession(Interlocked.Increment(ref _nextClient), connection, new OutboundQueue(_options.OutboundQueueCapacity));
        _publishers[session.Token] = session;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var drain = session.Queue.DrainAsync(connection, both.Token);
        try
        {
            await OwnedFrames.ReadAllAsync(connection.Input, message => message.Type == MessageType.Publish
                ? PostAsync(LoopEvent.Publish(session, message), stop)
                : Unexpected(message, "a publisher"), stop).ConfigureAwait(false);
        }
        finally
        {
            _publishers.TryRemove(session.Token, out _);
            session.Queue.Complete();
            await both.CancelAsync().ConfigureAwait(false);
            try { await drain.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    private static ValueTask Unexpected(in Envelope message, string who)
    {
        OwnedFrames.Release(message);
        throw new WireException($"{who} sent an unexpected {message.Type}");
    }

    /// <summary>Loop thread: a malformed run is the publisher's fault, never the member's: it closes that connection only.</summary>
    private void DispatchPublish(ClientSession session, PublishMessage publish)
    {
        try
        {
            // Only the leader acks Committed later; a refusal is answered inside Publish and removes the entry again.
            if (_member.IsLeader) _publishStarts[(session.Token, publish.ProducerId, publish.FirstSeq)] = System.Diagnostics.Stopwatch.GetTimestamp();
            _member.Publish(session.Token, publish);
        }
        catch (WireException e)
        {
            NodeLog.ConnectionFailed(_logger, session.Connection.RemoteEndPoint?.ToString() ?? "?", "Publisher", e.Message);
            session.Connection.Abort(ShutdownReason.ProtocolViolation(e));
        }
        finally
        {
            publish.Run.Release();
        }
    }
}
