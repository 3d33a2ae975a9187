using System.Text;
using AtomicBcast.Client;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// Three real members in this process (TCP on loopback, real logs with fsync), the client library on top. Timeouts are
/// failure guards only; nothing asserts speed.
/// </summary>
public sealed class ClusterTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Collects one subscriber's stream in the background.</summary>
    private sealed class Collector
    {
        private readonly List<Delivery> _received = new();
        private readonly CancellationTokenSource _stop = new();
        public Task Running { get; }

        public Collector(SubscriberOptions options) => Running = Task.Run(() => RunAsync(options));

        private async Task RunAsync(SubscriberOptions options)
        {
            await using var subscriber = await Subscriber.ConnectAsync(options);
            try
            {
                await foreach (var d in subscriber.ReadAllAsync(0, _stop.Token))
                    lock (_received) _received.Add(d);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }

        public async Task<List<Delivery>> WaitForAsync(int count)
        {
            var deadline = DateTime.UtcNow + Guard;
            while (DateTime.UtcNow < deadline)
            {
                lock (_received)
                    if (_received.Count >= count) return _received.ToList();
                if (Running.IsFaulted) await Running;
                await Task.Delay(20);
            }
            lock (_received) throw new TimeoutException($"subscriber got {_received.Count} of {count} messages (failure guard)");
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Running.WaitAsync(Guard);
        }
    }

    private static async Task<(string Payload, long Position)[]> PublishAsync(Publisher publisher, string prefix, int count)
    {
        var calls = Enumerable.Range(0, count).Select(async i =>
        {
            string payload = $"{prefix}-{i}";
            long position = await publisher.PublishAsync(Encoding.UTF8.GetBytes(payload));
            return (payload, position);
        }).ToArray();
        return await Task.WhenAll(calls).WaitAsync(Guard);
    }

    private static void AssertStream(List<Delivery> stream, IEnumerable<(string Payload, long Position)> acked, int expected)
    {
        Assert.Equal(expected, stream.Count);
        for (int i = 0; i < stream.Count; i++) Assert.Equal(i, stream[i].Position);
        var texts = stream.Select(d => Encoding.UTF8.GetString(d.Payload.Span)).ToList();
        Assert.Equal(texts.Count, texts.Distinct().Count()); // exactly once
        var index = texts.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        foreach (var (payload, position) in acked)
        {
            Assert.True(index.TryGetValue(payload, out int at), $"acked message {payload} was never delivered");
            if (position != Publisher.PositionUnknown) Assert.Equal(position, at);
        }
    }

    [Fact]
    public async Task EveryAckedMessageIsDeliveredOnceInOneOrderAcrossALeaderStop()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        ushort leader = await cluster.WaitForLeaderAsync(Guard);
        var first = new Collector(cluster.SubscriberOptions(1));
        var second = new Collector(cluster.SubscriberOptions(2));

        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions());
        const int count = 1500;
        var phase1 = await PublishAsync(publisher, "a", count);
        Assert.All(phase1, a => Assert.NotEqual(Publisher.PositionUnknown, a.Position)); // no leader change yet: every position known
        Assert.Equal(count, phase1.Select(a => a.Position).Distinct().Count());
        // One publisher, calls issued in order: FIFO means positions follow the call order.
        Assert.Equal(phase1.Select(a => a.Position).Order(), phase1.Select(a => a.Position));
        AssertStream(await first.WaitForAsync(count), phase1, count);
        AssertStream(await second.WaitForAsync(count), phase1, count);

        // Stop the leader while the second phase is in flight (the delay only makes that likely; the checks hold either way).
        var publishing = PublishAsync(publisher, "b", count);
        await Task.Delay(30);
        await cluster.Hosts[leader].StopAsync();
        var phase2 = await publishing;
        ushort newLeader = await cluster.WaitForLeaderAsync(Guard, except: leader);
        Assert.NotEqual(leader, newLeader);

        // Retries across the leader change are answered with the position of the first attempt.
        Assert.All(phase2, a => Assert.NotEqual(Publisher.PositionUnknown, a.Position));
        var all = phase1.Concat(phase2).ToArray();
        var one = await first.WaitForAsync(2 * count);
        var two = await second.WaitForAsync(2 * count);
        AssertStream(one, all, 2 * count);
        AssertStream(two, all, 2 * count);
        Assert.Equal(one.Select(d => Encoding.UTF8.GetString(d.Payload.Span)), two.Select(d => Encoding.UTF8.GetString(d.Payload.Span)));
        await first.StopAsync();
        await second.StopAsync();

        // The stopped leader restarts from its log and catches up with the same stream.
        cluster.Hosts.Remove(leader);
        await cluster.StartMemberAsync(leader);
        var restarted = cluster.Hosts[leader];
        await LocalCluster.WaitUntilAsync(() => restarted.Status.NextPosition == 2 * count, Guard, "restarted member did not catch up");
        // A subscriber that prefers it and starts at 0 is served (by it, or by another member if 0 is below its memory).
        var third = new Collector(cluster.SubscriberOptions(leader));
        var three = await third.WaitForAsync(2 * count);
        AssertStream(three, all, 2 * count);
        Assert.Equal(one.Select(d => Encoding.UTF8.GetString(d.Payload.Span)), three.Select(d => Encoding.UTF8.GetString(d.Payload.Span)));
        await third.StopAsync();
    }

    [Fact]
    public async Task ASecondHostOnTheSameDataDirectoryIsRefused()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        var e = await Assert.ThrowsAsync<AtomicBcast.Node.DataDirectoryLockedException>(() => cluster.StartMemberAsync(1));
        Assert.Contains($"pid {Environment.ProcessId}", e.Message);
    }

    [Fact]
    public async Task AFailedFsyncHaltsTheMemberAndTheOthersKeepServing()
    {
        var device = new AtomicBcast.Storage.Devices.SimulatedLogDevice("m2");
        await using var cluster = await LocalCluster.StartAsync(3, devices: new() { [2] = device });
        cluster.ExpectedHalts.Add(2);
        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions());
        await PublishAsync(publisher, "before", 50);
        device.FailNextSyncs(1);
        var after = await PublishAsync(publisher, "after", 200);
        var halted = cluster.Hosts[2];
        var e = await Assert.ThrowsAsync<AtomicBcast.Node.MemberHaltedException>(() => halted.Completion.WaitAsync(Guard));
        Assert.IsType<AtomicBcast.Storage.LogFailedException>(e.InnerException);
        Assert.True(halted.Status.Halted);
        Assert.All(after, a => Assert.True(a.Position >= 50));
    }
}
