using System.Threading.Tasks.Sources;

namespace AtomicBcast.Bench.Storage;

/// <summary>
/// A reusable "go" signal an async loop can await without allocating, so benchmark appenders live across
/// invocations and the allocation figure is the log's own. Reset before the round is signalled.
/// </summary>
internal sealed class RoundSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    public ValueTask WaitAsync() => new(this, _core.Version);
    public void Reset() => _core.Reset();
    public void Signal() => _core.SetResult(true);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
    public void GetResult(short token) => _core.GetResult(token);
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
