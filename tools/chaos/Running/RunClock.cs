using System.Diagnostics;

namespace AtomicBcast.Chaos.Running;

/// <summary>The one clock of a run: milliseconds since it started (publishes, deliveries, faults and exits all use it).</summary>
internal sealed class RunClock
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    public long NowMs => _watch.ElapsedMilliseconds;

    /// <summary>Waits until the run's clock reads <paramref name="ms"/> (at once if it already does).</summary>
    public Task UntilAsync(long ms, CancellationToken cancellationToken = default) =>
        ms > NowMs ? Task.Delay(TimeSpan.FromMilliseconds(ms - NowMs), cancellationToken) : Task.CompletedTask;
}
