namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    private ITimer? _idleTimer;
    private ITimer? _closeTimer;

    private void StartIdleTimer()
    {
        _lastReceiveTimestamp = Time.GetTimestamp();
        if (Options.IdleTimeout == Timeout.InfiniteTimeSpan) return;
        // Checking four times per timeout bounds detection at 1.25 timeouts without a timer reset per receive.
        var period = Options.IdleTimeout / 4;
        _idleTimer = Time.CreateTimer(static state => ((Connection)state!).CheckIdle(), this, period, period);
    }

    private void CheckIdle()
    {
        var last = Volatile.Read(ref _lastReceiveTimestamp);
        if (Time.GetElapsedTime(last) >= Options.IdleTimeout) Abort(ShutdownReason.Idle);
    }

    /// <summary>After our FIN, the peer gets the close timeout to answer with its own before we abort.</summary>
    private void StartCloseTimer()
    {
        var timer = Time.CreateTimer(static state => ((Connection)state!).Abort(ShutdownReason.LocalClose),
            this, Options.CloseTimeout, Timeout.InfiniteTimeSpan);
        if (Interlocked.CompareExchange(ref _closeTimer, timer, null) != null) timer.Dispose();
    }

    private void StopTimers()
    {
        _idleTimer?.Dispose();
        Interlocked.Exchange(ref _closeTimer, NoTimer.Instance)?.Dispose();
    }

    // Marks the close timer slot as finished so a late StartCloseTimer disposes its own timer.
    private sealed class NoTimer : ITimer
    {
        public static readonly NoTimer Instance = new();
        public bool Change(TimeSpan dueTime, TimeSpan period) => false;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
