namespace AtomicBcast.Simulation;

/// <summary>Simulated time in whole milliseconds; only the scheduler moves it.</summary>
internal sealed class SimClock : TimeProvider
{
    public long NowMs;
    public override long GetTimestamp() => NowMs;
    public override long TimestampFrequency => 1000;
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddMilliseconds(NowMs);
}

/// <summary>The one event queue of a run: events at the same time run in the order they were scheduled.</summary>
internal sealed class Scheduler(SimClock clock)
{
    private readonly PriorityQueue<Action, (long Time, long Seq)> _queue = new();
    private long _seq;

    public long Executed { get; private set; }

    public void At(long timeMs, Action action) => _queue.Enqueue(action, (Math.Max(timeMs, clock.NowMs), _seq++));
    public void After(long delayMs, Action action) => At(clock.NowMs + delayMs, action);

    /// <summary>Runs events up to <paramref name="untilMs"/>; false when nothing is left before it.</summary>
    public bool RunNext(long untilMs)
    {
        if (!_queue.TryPeek(out _, out var key) || key.Time > untilMs)
        {
            clock.NowMs = Math.Max(clock.NowMs, untilMs);
            return false;
        }
        var action = _queue.Dequeue();
        clock.NowMs = key.Time;
        Executed++;
        action();
        return true;
    }
}
