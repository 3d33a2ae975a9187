using AtomicBcast.Chaos.History;
using AtomicBcast.Client;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// One producer: publishes at a steady rate through the library's <see cref="Publisher"/> (one producer id, so FIFO
/// and exactly-once apply) and records every publish: invoke time, then acked with its position, or unknown if no
/// answer came before the run stopped it.
/// </summary>
internal sealed class PublisherWorkload(int producer, Cluster cluster, RunClock clock, int perSecond, int outstandingMax, int seed)
{
    private sealed class Entry(long seq, long invokeMs, string hash)
    {
        public readonly long Seq = seq;
        public readonly long InvokeMs = invokeMs;
        public readonly string Hash = hash;
        public volatile PublishRecord? Result;
    }

    /// <summary>The publishers' ack timeout: 2 s, or CHAOS_ACK_TIMEOUT_MS (to see how much of an outage it makes).</summary>
    public static int AckTimeoutMs =>
        int.TryParse(Environment.GetEnvironmentVariable("CHAOS_ACK_TIMEOUT_MS"), out int ms) && ms > 0 ? ms : 2000;

    private readonly List<Entry> _entries = new();
    private readonly SemaphoreSlim _room = new(outstandingMax);
    private Publisher? _publisher;
    private long _lastCommitMs;

    /// <summary>When the latest acknowledgement arrived (ms since the run's start).</summary>
    public long LastCommitMs => Interlocked.Read(ref _lastCommitMs);

    private Task _loop = Task.CompletedTask;
    private readonly CancellationTokenSource _stop = new();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new PublisherOptions
        {
            ClusterId = cluster.Config.ClusterId,
            Members = cluster.Config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
            ProducerId = (ulong)(uint)seed * 1000UL + (ulong)producer,
            AckTimeout = TimeSpan.FromMilliseconds(AckTimeoutMs),
            ConnectTimeout = TimeSpan.FromSeconds(1),
            PreferredMember = (ushort)cluster.Ids[(producer - 1) % cluster.Ids.Length],
        };
        _publisher = await Publisher.ConnectAsync(options, cancellationToken);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var random = new Random(seed * 31 + producer);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        double credit = 0;
        long seq = 0;
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                credit += perSecond / 100.0;
                for (; credit >= 1; credit--)
                {
                    await _room.WaitAsync(stop);
                    var payload = Payloads.Make(producer, ++seq, random);
                    var entry = new Entry(seq, clock.NowMs, Payloads.HashOf(payload));
                    lock (_entries) _entries.Add(entry);
                    _ = CompleteAsync(entry, _publisher!.PublishAsync(payload, CancellationToken.None));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task CompleteAsync(Entry entry, Task<long> publish)
    {
        string id = $"{producer}:{entry.Seq}";
        try
        {
            long position = await publish;
            var outcome = position == Publisher.PositionUnknown ? Outcome.AckedNoPosition : Outcome.Acked;
            long now = clock.NowMs;
            entry.Result = new PublishRecord(id, producer, entry.Seq, entry.InvokeMs, outcome, position, now, entry.Hash);
            if (now > Interlocked.Read(ref _lastCommitMs)) Interlocked.Exchange(ref _lastCommitMs, now);
        }
        catch (Exception)
        {
            // Disposed before an answer: it may or may not have been committed.
            entry.Result = new PublishRecord(id, producer, entry.Seq, entry.InvokeMs, Outcome.Unknown, -1, clock.NowMs, entry.Hash);
        }
        _room.Release();
    }

    /// <summary>Stops publishing new messages.</summary>
    public async Task StopPublishingAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    /// <summary>Messages without an answer yet.</summary>
    public int Outstanding
    {
        get { lock (_entries) return _entries.Count(e => e.Result is null); }
    }

    /// <summary>Disposes the publisher: what is still unanswered becomes unknown. Returns every record.</summary>
    public async Task<IReadOnlyList<PublishRecord>> FinishAsync()
    {
        if (_publisher is not null) await _publisher.DisposeAsync();
        for (int i = 0; i < 100 && Outstanding > 0; i++) await Task.Delay(10);
        lock (_entries)
            return _entries.Select(e => e.Result ?? new PublishRecord($"{producer}:{e.Seq}", producer, e.Seq, e.InvokeMs, Outcome.Unknown, -1,
                clock.NowMs, e.Hash)).ToList();
    }
}
