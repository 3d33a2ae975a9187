using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Client;

/// <summary>
/// Publishes messages to the cluster, exactly once and in order (FIFO) under one producer id.
/// Concurrent <see cref="PublishAsync"/> calls are packed into runs (consecutive seqs), at most
/// <see cref="PublisherOptions.WindowRuns"/> runs are in flight, and every run keeps its boundaries across retries, so
/// a retry after a timeout, a lost connection or a leader change is recognised by the cluster and never duplicates.
/// Follows NotLeader redirects. Memory is bounded by the pending queue and the window.
/// <para>Two ways to publish: <see cref="PublishAsync"/> returns a task per message with its position;
/// <see cref="TryPublish"/> allocates nothing and its caller follows <see cref="AcknowledgedThrough"/> (every message up to
/// that seq is durable on a majority), waiting with <see cref="WaitAcknowledgedAsync"/>.</para>
/// </summary>
public sealed class Publisher : IAsyncDisposable
{
    /// <summary>
    /// The position <see cref="PublishAsync"/> returns when the cluster confirmed the message as committed by an earlier
    /// attempt whose acknowledgement was lost (a retry across a leader change): it is delivered exactly once, but this
    /// member could not say at which position.
    /// </summary>
    public const long PositionUnknown = -1;

    private readonly PublisherOptions _options;
    private readonly ClientConnector _connector;
    private readonly PublishQueue _pending;
    private readonly List<PublishRun> _inFlight = new();   // guarded by itself, oldest first
    private readonly Stack<PublishRun> _freeRuns = new();  // guarded by _inFlight: settled runs, reused
    private readonly WakeSignal _wake = new();
    private readonly ITimer _tick;                         // wakes the send loop every TickPeriod: timeouts, a closed connection
    private readonly CancellationTokenSource _dispose = new();
    private int _wakeRequested;                       // 1: a wake is pending for the send loop (see Wake)
    private ulong _settledMax;                        // guarded by _inFlight: the highest seq of a settled run
    private ulong _acknowledgedThrough;               // every seq up to this is settled; written under _inFlight
    private readonly List<(ulong Seq, TaskCompletionSource Done)> _ackWaiters = new(); // guarded by _inFlight
    private ushort _target;
    private ushort? _redirect;                        // guarded by _inFlight: reconnect to this member
    private TimeSpan _redirectDelay;
    private Task _run = Task.CompletedTask;

    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(20);

    private Publisher(PublisherOptions options)
    {
        _options = options;
        _connector = new ClientConnector(options, PeerKind.Publisher);
        ProducerId = options.ProducerId ?? (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        // Chunks large enough for a few full runs, so that chunk ends rarely cut a run short.
        _tick = TimeProvider.System.CreateTimer(static wake => ((WakeSignal)wake!).Set(), _wake, TickPeriod, TickPeriod);
        _pending = new PublishQueue(options.PendingMessagesMax, (int)Math.Min(1 << 20, 4L * options.RunBytesMax));
    }

    /// <summary>The producer id this publisher numbers its messages under.</summary>
    public ulong ProducerId { get; }

    /// <summary>The member the publisher currently sends to.</summary>
    public ushort CurrentMember => _target;

    /// <summary>Runs sent again after a timeout, a lost connection or a redirect.</summary>
    public long Resends { get; private set; }

    /// <summary>Connects to a member (any: redirects lead to the leader). Throws <see cref="PublishException"/> if none answers.</summary>
    public static async Task<Publisher> ConnectAsync(PublisherOptions options, CancellationToken cancellationToken = default)
    {
        var publisher = new Publisher(options);
        IConnection connection;
        ushort id;
        try
        {
            (connection, id) = await publisher._connector.ConnectAnyAsync(publisher._connector.First(options.PreferredMember), 3, cancellationToken)
                .ConfigureAwait(false);
        }
        catch
        {
            publisher._tick.Dispose(); // nothing else would stop the send loop's timer of a publisher never handed out
            throw;
        }
        publisher._target = id;
        publisher._run = Task.Run(() => publisher.RunAsync(connection));
        return publisher;
    }

    /// <summary>
    /// Publishes one message and completes when it is durable on a majority, with its position in the total order
    /// (<see cref="PositionUnknown"/> in the rare retry case described there). The payload is copied before this returns.
    /// Cancelling stops the wait only: a message already handed over may still be published. When
    /// <see cref="PublisherOptions.PendingMessagesMax"/> messages are waiting to be sent, the message waits its turn
    /// (still in call order); cancelling then withdraws it if it has not been handed over yet.
    /// <para>Cost: the returned task and its completion source per message; the payload goes into pooled memory shared
    /// by many messages. Pass <see cref="CancellationToken.None"/> on hot paths: a cancellable token adds a wrapper task.
    /// <see cref="TryPublish"/> costs nothing per message.</para>
    /// </summary>
    public Task<long> PublishAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (payload.Length > Limits.MessageBytesMax)
            return Task.FromException<long>(new ArgumentException(
                $"message of {payload.Length} bytes exceeds the limit of {Limits.MessageBytesMax}", nameof(payload)));
        if (_dispose.IsCancellationRequested) return Task.FromException<long>(new ObjectDisposedException(nameof(Publisher)));
        var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.Enqueue(payload.Span, completion, cancellationToken, out bool queued))
            return Task.FromException<long>(new ObjectDisposedException(nameof(Publisher)));
        if (queued) Wake(); // a parked message is moved in by the send loop itself
        return cancellationToken.CanBeCanceled ? completion.Task.WaitAsync(cancellationToken) : completion.Task;
    }

    /// <summary>
    /// Publishes one message without a task, for producers at high rates: the payload is copied before this returns and
    /// nothing is allocated. <paramref name="seq"/> is the message's seq; it is durable on a majority, and will be
    /// delivered exactly once, when <see cref="AcknowledgedThrough"/> reaches it. Returns false, copying nothing, when
    /// <see cref="PublisherOptions.PendingMessagesMax"/> messages wait to be sent (or callers of
    /// <see cref="PublishAsync"/> wait for room): try again after acknowledgements. Throws
    /// <see cref="ObjectDisposedException"/> once disposed; messages not acknowledged by then may still be delivered.
    /// </summary>
    public bool TryPublish(ReadOnlySpan<byte> payload, out ulong seq)
    {
        if (payload.Length > Limits.MessageBytesMax)
            throw new ArgumentException($"message of {payload.Length} bytes exceeds the limit of {Limits.MessageBytesMax}", nameof(payload));
        ObjectDisposedException.ThrowIf(_dispose.IsCancellationRequested, this);
        if (!_pending.TryAccept(payload, out seq, out bool completed))
        {
            ObjectDisposedException.ThrowIf(completed, this);
            return false;
        }
        Wake();
        return true;
    }

    /// <summary>
    /// Every message up to this seq (1 is the first message of this publisher, in call order over both ways of publishing)
    /// is acknowledged: durable on a majority, delivered exactly once. It only grows.
    /// </summary>
    public ulong AcknowledgedThrough => Volatile.Read(ref _acknowledgedThrough);

    /// <summary>
    /// Completes when <see cref="AcknowledgedThrough"/> reaches <paramref name="seq"/>; fails with
    /// <see cref="PublishException"/> if the publisher is disposed meanwhile (<see cref="ObjectDisposedException"/> when it
    /// already was). Cancelling stops the wait only. Costs a task per wait, not per message: wait for the oldest message
    /// still unacknowledged.
    /// </summary>
    public Task WaitAcknowledgedAsync(ulong seq, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done;
        lock (_inFlight)
        {
            if (_acknowledgedThrough >= seq) return Task.CompletedTask;
            if (_dispose.IsCancellationRequested) return Task.FromException(new ObjectDisposedException(nameof(Publisher)));
            // Kept in seq order (acknowledgements complete a prefix); waits for the same seq (a caller that also waits for
            // a timer and comes back) share one task. Callers usually wait for ever higher seqs: the search ends at once.
            int at = _ackWaiters.Count;
            while (at > 0 && _ackWaiters[at - 1].Seq > seq) at--;
            if (at > 0 && _ackWaiters[at - 1].Seq == seq) done = _ackWaiters[at - 1].Done;
            else
            {
                done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _ackWaiters.Insert(at, (seq, done));
            }
        }
        return cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task;
    }

    /// <summary>
    /// Wakes the send loop once per batch of calls, not once per message: the loop clears <see cref="_wakeRequested"/>
    /// before it takes pending messages, so a message queued after that either is taken or wakes the loop again.
    /// </summary>
    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0) _wake.Set();
    }

    private long NowMs => Environment.TickCount64;

    private async Task RunAsync(IConnection? connection)
    {
        var stop = _dispose.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                connection ??= (await _connector.TryConnectAsync(_target, stop).ConfigureAwait(false));
                if (connection is null)
                {
                    _target = _connector.Next(_target);
                    await Task.Delay(_options.RetryDelay, stop).ConfigureAwait(false);
                    continue;
                }
                await using (connection.ConfigureAwait(false)) await ServeConnectionAsync(connection, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                // Whatever broke this connection (reset, malformed answer), the next member gets everything unacknowledged.
                _target = _connector.Next(_target);
            }
            connection = null;
            TimeSpan delay;
            lock (_inFlight)
            {
                if (_redirect is { } to) _target = to;
                delay = _redirectDelay;
                _redirect = null;
                _redirectDelay = TimeSpan.Zero;
            }
            if (delay > TimeSpan.Zero) await Task.Delay(delay, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Resends everything unacknowledged, then keeps the window full until the connection fails, times out or is redirected.</summary>
    private async Task ServeConnectionAsync(IConnection connection, CancellationToken stop)
    {
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var acks = OwnedFrames.ReadAllAsync(connection.Input, OnMessage, reading.Token);
        if (Resend(connection) > 0) await connection.Output.FlushAsync(stop).ConfigureAwait(false);
        try
        {
            while (!acks.IsCompleted && !Redirected())
            {
                if (TimedOut())
                {
                    lock (_inFlight) _redirect = _connector.Next(_target);
                    break;
                }
                Volatile.Write(ref _wakeRequested, 0);
                Interlocked.MemoryBarrier(); // the clear is visible before FillWindow reads the queue (pairs with Wake)
                if (FillWindow(connection) > 0 && (await connection.Output.FlushAsync(stop).ConfigureAwait(false)).IsCompleted) break;
                await _wake.WaitAsync().ConfigureAwait(false); // allocates nothing; the tick bounds the wait
                stop.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            await reading.CancelAsync().ConfigureAwait(false);
            connection.Abort(ShutdownReason.LocalAbort);
            try { await acks.ConfigureAwait(false); } catch (Exception) { /* the connection is gone either way */ }
        }
        if (!Redirected())
            lock (_inFlight) _redirect ??= acks.IsCompleted ? _connector.Next(_target) : _target;
    }

    private bool Redirected()
    {
        lock (_inFlight) return _redirect is not null;
    }

    private bool TimedOut()
    {
        lock (_inFlight) return _inFlight.Count > 0 && NowMs - _inFlight[0].SentAtMs > _options.AckTimeout.TotalMilliseconds;
    }

    /// <summary>
    /// Sends every unacknowledged run again, oldest first, with its original boundaries; returns how many. Each is sent
    /// under the lock: an answer on this connection may settle (and free) runs of the list meanwhile, so the walk goes
    /// by seq (the list is in seq order), never sending a settled run nor skipping a live one.
    /// </summary>
    private int Resend(IConnection connection)
    {
        int sent = 0, index = 0;
        ulong sentUpTo = 0;
        while (true)
        {
            lock (_inFlight)
            {
                index = Math.Min(index, _inFlight.Count);
                while (index > 0 && _inFlight[index - 1].FirstSeq > sentUpTo) index--; // answers removed runs before it
                if (index >= _inFlight.Count) break;
                var run = _inFlight[index];
                System.Diagnostics.Debug.Assert(run.FirstSeq > sentUpTo, "in-flight runs are in seq order");
                Send(connection, run);
                sentUpTo = run.FirstSeq;
                index++;
            }
            sent++;
        }
        Resends += sent;
        return sent;
    }

    /// <summary>Forms new runs from pending messages while the window has room; returns how many were sent.</summary>
    private int FillWindow(IConnection connection)
    {
        int sent = 0;
        while (true)
        {
            PublishRun run;
            lock (_inFlight)
            {
                if (_inFlight.Count >= _options.WindowRuns) return sent;
                run = _freeRuns.TryPop(out var free) ? free : new PublishRun();
            }
            if (!_pending.TryTakeRun(_options.RunMessagesMax, _options.RunBytesMax, run))
            {
                lock (_inFlight) _freeRuns.Push(run);
                return sent;
            }
            run.FirstSeq = run.First!.Seq; // runs leave the queue in seq order, so seqs stay consecutive across runs
            lock (_inFlight)
            {
                _inFlight.Add(run);
                Send(connection, run);
            }
            sent++;
        }
    }

    /// <summary>Writes the run's frame (one copy of its encoded messages); the caller holds the lock and flushes.</summary>
    private void Send(IConnection connection, PublishRun run)
    {
        System.Diagnostics.Debug.Assert(run.InFlight, "a settled run is never sent");
        run.SentAtMs = NowMs;
        MessageWriter.WritePublish(connection.Output, ProducerId, run.FirstSeq, run.Count, run.Messages);
    }

    private ValueTask OnMessage(Envelope message)
    {
        OwnedFrames.Release(message);
        if (message.Type == MessageType.PublishAck && message.AsPublishAck() is var ack && ack.ProducerId == ProducerId) OnAck(ack);
        _wake.Set();
        return ValueTask.CompletedTask;
    }

    private void OnAck(PublishAckMessage ack)
    {
        lock (_inFlight)
        {
            int index = IndexOf(ack.FirstSeq);
            if (index < 0) return; // an answer to a run already settled by an earlier answer
            switch (ack.Status)
            {
                case PublishStatus.Committed:
                    Settle(index, ack.Position);
                    break;
                case PublishStatus.Duplicate:
                    Settle(index, PositionUnknown);
                    break;
                case PublishStatus.OutOfSequence:
                    // Runs below the expected seq were delivered by an earlier attempt; resend the rest.
                    for (int i = _inFlight.Count - 1; i >= 0; i--)
                        if (_inFlight[i].LastSeq < ack.ExpectedSeq) Settle(i, PositionUnknown);
                    _redirect ??= _target;
                    break;
                case PublishStatus.NotLeader:
                    bool known = ack.LeaderId != 0 && ack.LeaderId != _target && _connector.Ids.Contains(ack.LeaderId);
                    _redirect ??= known ? ack.LeaderId : _connector.Next(_target);
                    if (!known) _redirectDelay = _options.RetryDelay;
                    break;
                default: // Overloaded
                    _redirect ??= _target;
                    _redirectDelay = _options.RetryDelay;
                    break;
            }
        }
    }

    /// <summary>The index of the in-flight run starting at <paramref name="firstSeq"/>, or -1; under the lock.</summary>
    private int IndexOf(ulong firstSeq)
    {
        for (int i = 0; i < _inFlight.Count; i++)
            if (_inFlight[i].FirstSeq == firstSeq) return i;
        return -1;
    }

    /// <summary>Completes the run at <paramref name="index"/>, frees it and moves <see cref="AcknowledgedThrough"/>; under
    /// the lock.</summary>
    private void Settle(int index, long firstPosition)
    {
        var run = _inFlight[index];
        _inFlight.RemoveAt(index);
        _settledMax = Math.Max(_settledMax, run.LastSeq);
        run.Acknowledge(firstPosition, _pending);
        _freeRuns.Push(run);
        AdvanceAcknowledged();
    }

    /// <summary>
    /// Moves <see cref="AcknowledgedThrough"/> up to the highest settled seq below the oldest run still in flight, and
    /// completes the waits it satisfies; under the lock. A run formed but not yet in the list has seqs above every
    /// settled one, so it is never counted.
    /// </summary>
    private void AdvanceAcknowledged()
    {
        ulong through = _inFlight.Count > 0 ? Math.Min(_settledMax, _inFlight[0].FirstSeq - 1) : _settledMax;
        if (through <= _acknowledgedThrough) return;
        Volatile.Write(ref _acknowledgedThrough, through);
        int done = 0;
        while (done < _ackWaiters.Count && _ackWaiters[done].Seq <= through) _ackWaiters[done++].Done.TrySetResult();
        if (done > 0) _ackWaiters.RemoveRange(0, done);
    }

    /// <summary>Stops sending. Messages not yet acknowledged fail with <see cref="PublishException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_dispose.IsCancellationRequested) return;
        await _dispose.CancelAsync().ConfigureAwait(false);
        _wake.Set();
        Exception? loopFailure = null;
        try { await _run.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        catch (Exception e) { loopFailure = e; } // still fail every waiting message below, then report it
        _tick.Dispose();
        var failure = new PublishException("the publisher was disposed before the message was acknowledged", loopFailure);
        lock (_inFlight)
        {
            foreach (var run in _inFlight) run.Fail(failure);
            _inFlight.Clear();
            foreach (var (_, done) in _ackWaiters) done.TrySetException(failure);
            _ackWaiters.Clear();
        }
        _pending.Complete(failure);
        if (loopFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(loopFailure);
    }
}
