using AtomicBcast.Chaos.History;
using AtomicBcast.Client;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// One subscriber through the library's <see cref="Subscriber"/>, recording every delivery: position, message id, hash,
/// time. A live subscriber reads from 0 for the whole run, first from its preferred member, moving on after a failure
/// (what a client sees). An audit subscriber starts after the heal and knows only its one member, so it shows what that
/// member holds: from the earliest position it retains to its end.
/// </summary>
internal sealed class SubscriberWorkload(string name, int preferredMember, bool audit, Cluster cluster, RunClock clock)
{
    private readonly List<DeliveryRecord> _deliveries = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _from;
    private string? _error;

    public bool IsAudit => audit;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>The next position this subscriber waits for.</summary>
    public long Next
    {
        get { lock (_deliveries) return _deliveries.Count == 0 ? _from : _deliveries[^1].Position + 1; }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var options = new SubscriberOptions
        {
            ClusterId = cluster.Config.ClusterId,
            Members = cluster.Config.Members.Where(m => !audit || m.Id == preferredMember).ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
            PreferredMember = (ushort)preferredMember,
            ConnectTimeout = TimeSpan.FromSeconds(1),
        };
        await using var subscriber = await Subscriber.ConnectAsync(options, stop);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var d in subscriber.ReadAllAsync(Next, stop))
                {
                    var record = new DeliveryRecord(d.Position, Payloads.IdOf(d.Payload.Span), Payloads.HashOf(d.Payload.Span), clock.NowMs);
                    lock (_deliveries) _deliveries.Add(record);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (BelowRetentionFloorException e) when (audit && Next == _from && e.EarliestRetainedPosition > _from)
            {
                _from = e.EarliestRetainedPosition;   // an audit reads what the cluster still holds
            }
            catch (Exception e)
            {
                _error = $"{e.GetType().Name} at position {Next}: {e.Message}";
                return;
            }
        }
    }

    /// <summary>Stops reading and returns everything received (again on a second call).</summary>
    public async Task<StreamRecord> StopAsync()
    {
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        lock (_deliveries) return new StreamRecord(name, _from, audit, _deliveries.ToList(), _error);
    }
}
