namespace AtomicBcast.Tests.Transport;

/// <summary>
/// A clock that moves only when the test says so. Timers fire synchronously inside <see cref="Advance"/>, in due
/// order, with the clock set to their due time, so a timeout test needs no sleep and cannot race the wall clock.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = new();
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_gate) return _ticks;
    }

    public override DateTimeOffset GetUtcNow() => s_epoch.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        long target;
        lock (_gate) target = _ticks + by.Ticks;
        while (NextDue(target) is { } timer) timer.Callback(timer.State);
        lock (_gate) _ticks = Math.Max(_ticks, target);
    }

    private ManualTimer? NextDue(long target)
    {
        lock (_gate)
        {
            ManualTimer? next = null;
            foreach (var t in _timers)
                if (t.DueTicks <= target && (next is null || t.DueTicks < next.DueTicks)) next = t;
            if (next is null) return null;
            _ticks = Math.Max(_ticks, next.DueTicks);
            if (next.PeriodTicks > 0) next.DueTicks += next.PeriodTicks;
            else _timers.Remove(next);
            return next;
        }
    }

    private void Schedule(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan) return;
            timer.DueTicks = _ticks + dueTime.Ticks;
            timer.PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            _timers.Add(timer);
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate) _timers.Remove(timer);
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public long DueTicks;
        public long PeriodTicks;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Schedule(this, dueTime, period);
            return true;
        }

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
