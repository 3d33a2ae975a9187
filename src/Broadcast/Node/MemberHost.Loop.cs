using System.Threading.Channels;
using AtomicBcast.Consensus;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// The loop thread: the only thread that touches the core.
public sealed partial class MemberHost
{
    private const int EventsPerTickCheck = 256;
    private long _durableReported;   // highest LSN reported to the core (loop thread only)
    private volatile bool _halted;
    private Role _lastRole = (Role)255;

    // The idle loop blocks on this event instead of Task.Wait on the channel: Task.Wait spins (sched_yield) before it
    // blocks, and the loop goes idle after nearly every burst, so on a busy 2-core host the spinning took a quarter of a
    // core per member even at a few thousand messages/s. No spinning here: a post, or the flusher making records durable,
    // wakes the loop at once (WakeLoop).
    private readonly ManualResetEventSlim _loopWake = new(false, spinCount: 0);
    private int _loopSleeping;       // 1 while the loop is about to sleep or sleeping; a waker that clears it sets _loopWake

    /// <summary>Queues <paramref name="loopEvent"/> for the loop; waits when the queue is full (backpressure on the caller's socket).</summary>
    private ValueTask PostAsync(LoopEvent loopEvent, CancellationToken cancellationToken)
    {
        var write = _events.Writer.WriteAsync(loopEvent, cancellationToken);
        // Interlocked (a full fence) after the write pairs with the loop's Exchange before its TryPeek: either the loop
        // sees the action, or this sees it sleeping and wakes it.
        WakeLoop();
        return write;
    }

    /// <summary>Sleeps until a post, the log's durability moving, or <paramref name="timeoutMs"/>, unless something is
    /// already queued or newly durable.</summary>
    private void WaitForEvents(ChannelReader<LoopEvent> reader, int timeoutMs)
    {
        _loopWake.Reset();
        // The Exchange (a full fence) before the checks pairs with WakeLoop's CompareExchange after a post or after the
        // flusher published DurableUntil: either the check sees it, or the waker sees us sleeping and sets the event.
        Interlocked.Exchange(ref _loopSleeping, 1);
        if (!reader.TryPeek(out _) && !DurabilityPending()) _loopWake.Wait(timeoutMs);
        Volatile.Write(ref _loopSleeping, 0);
    }

    /// <summary>Posts and the flusher (<see cref="GroupCommitLog.DurabilityChanged"/>) wake a sleeping loop.</summary>
    private void WakeLoop()
    {
        if (Interlocked.CompareExchange(ref _loopSleeping, 0, 1) == 1) _loopWake.Set();
    }

    private void RunLoop()
    {
        var reader = _events.Reader;
        long nextTickMs = 0;
        try
        {
            while (!_stopping)
            {
                // The leader's appends wake the flusher at once: its own sync starts while it still sends the accepts.
                if (!_member.IsLeader) _log.BeginBurst();
                int handled = 0;
                while (handled < EventsPerTickCheck && reader.TryRead(out var loopEvent))
                {
                    Dispatch(loopEvent);
                    handled++;
                }
                long now = Environment.TickCount64;
                if (now >= nextTickMs)
                {
                    _member.Tick();
                    nextTickMs = now + _options.TickMs;
                    RefreshStatus();
                }
                WatchDurability();
                PumpOutbound();
                // Synced here: report it and send what it allows at once, in the next round.
                if (EndBurst(reader)) continue;
                if (handled == 0) WaitForEvents(reader, (int)Math.Clamp(nextTickMs - Environment.TickCount64, 1, _options.TickMs));
            }
        }
        catch (Exception e)
        {
            // Any exception here is a failed log, a broken invariant or a bug: continuing could lose data. The burst ends
            // first: appends from other threads (a trim record) must wake the flusher again, or stopping waits for them.
            _log.EndBurst(flushHere: false);
            Halt(e);
        }
    }

    private void Dispatch(in LoopEvent loopEvent)
    {
        switch (loopEvent.Kind)
        {
            case LoopEventKind.PeerMessage: DispatchPeer(loopEvent.From, loopEvent.Message); break;
            case LoopEventKind.Publish: DispatchPublish(loopEvent.Session!, loopEvent.Message.AsPublish()); break;
            case LoopEventKind.Failure: throw loopEvent.Failure!;
        }
    }

    /// <summary>A follower syncs on its loop only while syncs take less than this: on a slow disk the flusher does it,
    /// and the loop goes on serving (redirects, heartbeats, deliveries to subscribers) while it waits.</summary>
    private static readonly TimeSpan LoopSyncQuickMax = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Ends the log's burst (<see cref="GroupCommitLog.EndBurst"/>): a follower with nothing queued syncs what it just
    /// appended itself, saving the wake-ups of the flusher and of the loop again; its loop has nothing to do until then
    /// but wait. Meanwhile its loop serves nothing else, so only while the disk is quick (<see cref="LoopSyncQuickMax"/>).
    /// The leader never does: its loop keeps reading its followers' acks (a majority without its own sync commits) and
    /// sending heartbeats while the flusher syncs, however long a sync takes. True when it synced.
    /// </summary>
    private bool EndBurst(ChannelReader<LoopEvent> reader) => _log.EndBurst(flushHere: !_member.IsLeader && !reader.TryPeek(out _)
        && _log.LastSyncDuration < LoopSyncQuickMax);

    /// <summary>Reports what the log made durable since the last report. No task per flush: the loop reads
    /// <see cref="GroupCommitLog.DurableUntil"/> itself, and the flusher wakes it (<see cref="WakeLoop"/>) when it moves.
    /// DurableUntil moves only after fdatasync returned 0, so nothing is reported before it is on disk.</summary>
    private void WatchDurability()
    {
        if (_consensusLog.LastLsn <= _durableReported) return;
        if (_log.Failure is { } failure) throw failure;
        ReportDurable();
    }

    /// <summary>Records appended, not yet reported, and either durable now or the log failed (the loop must see it).</summary>
    private bool DurabilityPending() => _consensusLog.LastLsn > _durableReported
        && ((long)_log.DurableUntil.Value - 1 > _durableReported || _log.Failure is not null);

    private void ReportDurable()
    {
        long durable = (long)_log.DurableUntil.Value - 1;
        if (durable <= _durableReported) return;
        _durableReported = durable;
        _member.Durable(durable);
    }

    private void RefreshStatus()
    {
        Status = Snapshot();
        // Runs that will never be acked (leadership lost) must not pile up in the latency bookkeeping.
        if (_publishStarts.Count > 0 && (!_member.IsLeader || _publishStarts.Count > 1 << 20)) _publishStarts.Clear();
        if (_member.Role != _lastRole)
        {
            _lastRole = _member.Role;
            NodeLog.RoleChanged(_logger, _self, _lastRole.ToString(), _member.LeaderId, _member.Promised.ToString());
        }
    }

    /// <summary>Stops serving for good: the core refuses further events, the host stops in the background.</summary>
    private void Halt(Exception reason)
    {
        _halted = true;
        _member.Halt();
        string why = reason switch
        {
            LogFailedException => $"the log failed a write or sync ({reason.Message}); its state can no longer be trusted",
            LogCorruptException => $"the log is corrupt ({reason.Message}); repair this member from its peers",
            InvariantViolationException => $"consensus invariant violated: {reason.Message}",
            _ => reason.Message,
        };
        NodeLog.Halted(_logger, _self, why, reason);
        Status = Snapshot();
        _completion.TrySetException(new MemberHaltedException($"member {_self} halted: {why}", reason));
        _stopping = true;
        _ = Task.Run(StopAsync);
    }
}
