using System.Threading.Channels;
using AtomicBcast.Consensus;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// The loop thread: the only thread that touches the core.
public sealed partial class MemberHost
{
    private const int EventsPerTickCheck = 256;
    private bool _durableWatch;      // a wait for the log's durability is outstanding (loop thread only)
    private long _durableReported;   // highest LSN reported to the core (loop thread only)
    private volatile bool _halted;
    private Role _lastRole = (Role)255;

    // The idle loop blocks on this event instead of Task.Wait on the channel: Task.Wait spins (sched_yield) before it
    // blocks, and the loop goes idle after nearly every burst, so on a busy 2-core host the spinning took a quarter of a
    // core per member even at a few thousand messages/s. No spinning here: a post wakes the loop at once.
    private readonly ManualResetEventSlim _loopWake = new(false, spinCount: 0);
    private int _loopSleeping;       // 1 while the loop is about to sleep or sleeping; a post that clears it sets _loopWake

    /// <summary>Queues <paramref name="action"/> for the loop; waits when the queue is full (backpressure on the caller's socket).</summary>
    private ValueTask PostAsync(Action action, CancellationToken cancellationToken)
    {
        var write = _events.Writer.WriteAsync(action, cancellationToken);
        // Interlocked (a full fence) after the write pairs with the loop's Exchange before its TryPeek: either the loop
        // sees the action, or this sees it sleeping and wakes it.
        if (Interlocked.CompareExchange(ref _loopSleeping, 0, 1) == 1) _loopWake.Set();
        return write;
    }

    /// <summary>Sleeps until a post or <paramref name="timeoutMs"/>, unless something is already queued.</summary>
    private void WaitForEvents(ChannelReader<Action> reader, int timeoutMs)
    {
        _loopWake.Reset();
        Interlocked.Exchange(ref _loopSleeping, 1);
        if (!reader.TryPeek(out _)) _loopWake.Wait(timeoutMs);
        Volatile.Write(ref _loopSleeping, 0);
    }

    private void RunLoop()
    {
        var reader = _events.Reader;
        long nextTickMs = 0;
        try
        {
            while (!_stopping)
            {
                int handled = 0;
                while (handled < EventsPerTickCheck && reader.TryRead(out var action))
                {
                    action();
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
                if (handled == 0) WaitForEvents(reader, (int)Math.Clamp(nextTickMs - Environment.TickCount64, 1, _options.TickMs));
            }
        }
        catch (Exception e)
        {
            // Any exception here is a failed log, a broken invariant or a bug: continuing could lose data.
            Halt(e);
        }
    }

    /// <summary>Keeps one wait for the log's durability outstanding while records are not yet reported durable.</summary>
    private void WatchDurability()
    {
        long last = _consensusLog.LastLsn;
        if (_durableWatch || last <= _durableReported) return;
        if (_log.Failure is { } failure) throw failure;
        var wait = _log.WaitForDurableAsync(new LogAddress((ulong)last));
        if (wait.IsCompletedSuccessfully)
        {
            ReportDurable();
            return;
        }
        _durableWatch = true;
        wait.AsTask().ContinueWith(t =>
        {
            Action notice = t.IsCompletedSuccessfully ? ReportDurable : () => throw (t.Exception?.InnerException ?? new LogFailedException("durability wait failed", t.Exception!));
            // Durability notices are never dropped: wait for room in the queue.
            _ = PostAsync(notice, CancellationToken.None).AsTask();
        }, TaskScheduler.Default);
    }

    private void ReportDurable()
    {
        _durableWatch = false;
        long durable = (long)_log.DurableUntil.Value - 1;
        if (durable <= _durableReported) return;
        _durableReported = durable;
        _member.Durable(durable);
    }

    private void RefreshStatus()
    {
        _status = Snapshot();
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
        _status = Snapshot();
        _completion.TrySetException(new MemberHaltedException($"member {_self} halted: {why}", reason));
        _stopping = true;
        _ = Task.Run(StopAsync);
    }
}
