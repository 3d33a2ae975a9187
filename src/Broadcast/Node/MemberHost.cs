using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using AtomicBcast.Consensus;
using AtomicBcast.Storage;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtomicBcast.Node;

/// <summary>
/// One cluster member: the consensus <see cref="Member"/> on one dedicated loop thread, the group-commit log, and the
/// TCP transport with one listener serving peers, publishers and subscribers (the hello says which).
///
/// Requirements:
/// - Only the loop thread touches the core. Everything else (peer frames, publisher runs) is posted to the loop through
///   one bounded queue; readers wait when it is full, which pushes back on the sockets. Durability is read by the loop
///   itself (the log's DurableUntil); the flusher only wakes it. A follower with nothing queued syncs on the loop itself.
/// - A failed log write/sync, a corrupt log read or a broken consensus invariant halts the member: it stops serving
///   at once and <see cref="Completion"/> faults with <see cref="MemberHaltedException"/>. It never keeps serving.
/// - Memory is bounded: the loop queue, each outgoing queue (drops, consensus retransmits), the delivery ring for
///   subscribers (bytes), the transport pipes.
/// </summary>
public sealed partial class MemberHost : IAsyncDisposable, IConsensusOutput
{
    private readonly NodeOptions _options;
    private readonly ILogger _logger;
    private readonly ushort _self;
    private readonly DataDirectoryLock _lock;
    private readonly GroupCommitLog _log;
    private readonly ConsensusLog _consensusLog;
    private readonly Member _member;
    /// <summary>The core's checkpoint interval: a trim never goes above the last checkpoint (see <see cref="TrimAsync"/>).</summary>
    private readonly long _checkpointEvery;
    private readonly DeliveryRing _ring;
    private readonly ITransport _transport;
    private readonly Channel<LoopEvent> _events;
    private readonly Dictionary<ushort, OutboundQueue> _peerQueues = new();
    private readonly List<PeerLink> _links = new();
    private readonly ConcurrentDictionary<long, ClientSession> _publishers = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _loop;
    private IListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _statusWriter = Task.CompletedTask;
    private long _nextClient;
    private volatile bool _stopping;
    // The loop's latest snapshot: a struct under a lock, so that refreshing it every tick allocates nothing (a record per
    // tick was most of what a follower allocated with one message in flight, once the frames were envelopes).
    private readonly object _statusLock = new();
    private MemberStatus _statusSnapshot;
    private int _stopped;

    private MemberHost(NodeOptions options, ILogger logger, DataDirectoryLock dataLock, GroupCommitLog log)
    {
        _options = options;
        _logger = logger;
        _self = options.NodeId;
        _lock = dataLock;
        _log = log;
        _log.DurabilityChanged = WakeLoop;
        _consensusLog = new ConsensusLog(log);
        var members = options.Members.Keys.OrderBy(id => id).ToArray();
        var consensus = new ConsensusOptions { NodeId = _self, Members = members };
        if (options.ConfigureConsensus is { } configure) consensus = configure(consensus);
        _checkpointEvery = consensus.CheckpointEveryInstances;
        _producerIdleMax = consensus.ProducerIdleInstancesMax;
        var recovered = ConsensusLog.Recover(log, consensus.RetainedInstances);
        _member = new Member(consensus, _consensusLog, this, TimeProvider.System, new Random(), recovered);
        _ring = new DeliveryRing(options.SubscriberRetentionBytes, _member.NextPosition, options.SubscriberRetentionDeliveries);
        _events = Channel.CreateBounded<LoopEvent>(new BoundedChannelOptions(options.LoopQueueCapacity) { SingleReader = true });
        _transport = CreateTransport(options, logger);
        foreach (var id in members)
            if (id != _self) _peerQueues[id] = new OutboundQueue(options.OutboundQueueCapacity);
        Status = Snapshot();
        NodeMetrics.Track(log);
        _loop = new Thread(RunLoop) { IsBackground = true, Name = $"member-{_self}-loop" };
    }

    /// <summary>The address the member listens on (with the real port when the options asked for port 0).</summary>
    public EndPoint LocalEndPoint => _listener!.LocalEndPoint;

    /// <summary>Completes when the member stopped; faults with <see cref="MemberHaltedException"/> when it halted.</summary>
    public Task Completion => _completion.Task;

    /// <summary>The latest snapshot of the member's state (refreshed every tick).</summary>
    public MemberStatus Status
    {
        get { lock (_statusLock) return _statusSnapshot; }
        private set { lock (_statusLock) _statusSnapshot = value; }
    }

    /// <summary>
    /// Locks the data directory, opens (recovers) the log, starts the loop, listens, and connects to the peers.
    /// Throws <see cref="DataDirectoryLockedException"/>, <see cref="LogCorruptException"/> or a socket error (port in use)
    /// before anything is served.
    /// </summary>
    public static async Task<MemberHost> StartAsync(NodeOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        var logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger($"AtomicBcast.Node.Member{options.NodeId}");
        var dataLock = DataDirectoryLock.Acquire(options.DataDirectory);
        GroupCommitLog? log = null;
        try
        {
            log = GroupCommitLog.Open(new GroupCommitLogOptions
            {
                Directory = Path.Combine(options.DataDirectory, "log"),
                Device = options.LogDevice,
                MemberId = options.NodeId,
                ClusterId = options.ClusterId,
                SegmentBytes = options.SegmentBytes,
                Durability = options.Durability,
                PrepareSpares = options.PrepareLogSpares,
                Logger = logger,
            });
            var host = new MemberHost(options, logger, dataLock, log);
            await host.StartServingAsync(cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            log?.Dispose();
            dataLock.Dispose();
            throw;
        }
    }

    private async Task StartServingAsync(CancellationToken cancellationToken)
    {
        var listenAt = _options.ListenEndPoint ?? _options.Members[_self];
        try
        {
            _listener = await _transport.ListenAsync(listenAt, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw new IOException($"cannot listen on {listenAt}: the address is already in use", e);
        }
        _loop.Start();
        foreach (var (id, queue) in _peerQueues)
        {
            var peer = id;
            var link = new PeerLink(_transport, _options.Members[id], (c, ct) => RunPeerLinkAsync(peer, queue, c, ct),
                new PeerLinkOptions { ExpectedNodeId = id, Logger = _logger, Backoff = BackoffPolicy.Default });
            _links.Add(link);
            link.Start();
        }
        _acceptLoop = Task.Run(AcceptLoopAsync);
        _statusWriter = Task.Run(WriteStatusAsync);
        NodeLog.Started(_logger, _self, _options.ClusterId, LocalEndPoint.ToString() ?? "?", _member.Promised.ToString(),
            _member.NextInstance, _member.NextPosition);
    }

    /// <summary>Stops serving: the loop ends, links and connections close, the log flushes and closes, the lock is released.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            await _completion.Task.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return;
        }
        NodeLog.Stopping(_logger, _self);
        _stopping = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (Thread.CurrentThread != _loop && _loop.IsAlive) _loop.Join();
        foreach (var queue in _peerQueues.Values) queue.Complete();
        foreach (var link in _links)
        {
            try { await link.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { _logger.LogWarning(e, "peer link ended with an error"); }
        }
        if (_listener is not null) await _listener.DisposeAsync().ConfigureAwait(false);
        try { await _acceptLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _statusWriter.ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        _ring.Clear();
        NodeMetrics.Untrack(_log);
        _log.Dispose();
        _lock.Dispose();
        _completion.TrySetResult();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Writes <see cref="StatusFile"/> about once a second (and once more at stop) for same-host tools.</summary>
    private async Task WriteStatusAsync()
    {
        while (true)
        {
            try
            {
                StatusFile.From(Status).Write(_options.DataDirectory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Status is informational; a failure to write it must not stop the member.
            }
            if (_stop.IsCancellationRequested) return;
            if (Environment.TickCount64 >= _nextTrimMs) await TrimAsync().ConfigureAwait(false);
            try
            {
                await Task.Delay(1000, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private long _nextTrimMs = Environment.TickCount64;

    /// <summary>
    /// Drops the oldest whole segments beyond <see cref="NodeOptions.LogRetainBytes"/>, never above the acceptor's floor
    /// (a promise must still report every accept from there up, and after a restart the log's floor becomes the
    /// acceptor's), nor above the last checkpoint's next instance (a member restarting from that checkpoint must not find
    /// its floor above its next instance), nor above what it delivered. Peers fetch from memory and then from the log; a
    /// peer asking below what is left gets our latest checkpoint and jumps (its subscribers cannot read the positions it
    /// skipped there, but can at any other member that still holds them). A failure of the log halts the member (through the loop).
    /// The values come from the loop's status snapshot: the member itself is single-threaded.
    /// </summary>
    private async Task TrimAsync()
    {
        _nextTrimMs = Environment.TickCount64 + _options.TrimIntervalMs;
        var status = Status;
        long checkpointNext = status.NextInstance / _checkpointEvery * _checkpointEvery;
        long floorMax = Math.Min(Math.Min(status.NextInstance, status.AcceptedFloor), checkpointNext);
        if (floorMax <= 0) return;
        try
        {
            await _log.TrimAsync(TrimRequest.RetainBytes(_options.LogRetainBytes, (ulong)floorMax)).ConfigureAwait(false);
        }
        catch (LogFailedException e)
        {
            await PostAsync(LoopEvent.Fail(e), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private MemberStatus Snapshot() => new(_self, _member.Role, _member.LeaderId, _member.Promised, _member.NextInstance,
        _member.NextPosition, _member.ChosenUpTo, _log.FlushedBytes, _halted, _member.AcceptedFloor, _member.QueuedRuns);
}
