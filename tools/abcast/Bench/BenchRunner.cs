using System.Diagnostics;
using System.Reflection;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using AtomicBcast.Wire;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// One run: connects the publishers and subscribers, publishes a probe to learn where the run starts in the stream,
/// loads the cluster for the warm-up and the measurement window, waits until every acknowledged message reached every
/// subscriber (a failure guard, not a measurement), and reports.
/// </summary>
internal static class BenchRunner
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    public static async Task<BenchReport> RunAsync(BenchOptions options, TextWriter progress, CancellationToken stop)
    {
        int pending = Math.Max(options.Window, 65536);
        int runs = WindowRuns(options);
        if (!options.Embedded) return await LoadAsync(options, BenchTarget.Of(ClusterConfig.Load(options.ConfigPath!), pending, runs), progress, stop);
        var durability = options.NoSync ? DurabilityMode.UnsafeNoSync : DurabilityMode.Sync;
        await using var cluster = await EmbeddedCluster.StartAsync("bench", 3, durability, stop);
        progress.WriteLine($"embedded cluster: 3 members on {string.Join(", ", cluster.Members.Values)}, sync {(options.NoSync ? "off" : "on")}, "
            + $"data in {cluster.Root} (removed at exit)");
        return await LoadAsync(options, BenchTarget.Of(cluster, !options.NoSync, pending, runs), progress, stop);
    }

    /// <summary>
    /// The publisher's run window, so that --window messages can really be in flight: its default of 16 runs of at most
    /// 256 KiB caps a publisher at 4 MiB in flight, which limited 8 KiB messages to a few hundred in flight whatever the
    /// window. Twice the runs the window's bytes need (runs are not always full), at least the default.
    /// </summary>
    private static int WindowRuns(BenchOptions options)
    {
        var defaults = new PublisherOptions { ClusterId = "-", Members = new Dictionary<ushort, System.Net.IPEndPoint>() };
        long runsForBytes = (long)options.Window * options.Size / defaults.RunBytesMax + 1;
        long runsForCount = options.Window / defaults.RunMessagesMax + 1;
        return (int)Math.Clamp(2 * Math.Max(runsForBytes, runsForCount), defaults.WindowRuns, 4096);
    }

    private static async Task<BenchReport> LoadAsync(BenchOptions options, BenchTarget target, TextWriter progress, CancellationToken stop)
    {
        var publishers = new List<Publisher>();
        using var stopSubscribers = CancellationTokenSource.CreateLinkedTokenSource(stop);
        try
        {
            for (int i = 0; i < options.Publishers; i++) publishers.Add(await Publisher.ConnectAsync(target.Publisher(), stop));
            long from = await ProbeAsync(publishers[0], stop);
            var tag = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
            long start = Stopwatch.GetTimestamp();
            long measureStart = start + (long)(options.Warmup * Stopwatch.Frequency);
            var timeline = options.TimelinePath is null ? null : new AckTimeline(measureStart, options.Seconds);
            var shared = new BenchShared(tag, measureStart, measureStart + (long)(options.Seconds * Stopwatch.Frequency), timeline);
            var subscribers = Enumerable.Range(0, options.Subscribers).Select(_ => new LoadSubscriber(shared)).ToArray();
            var reading = subscribers.Select((s, i) => Task.Run(() =>
                s.RunAsync(target.Subscriber(target.MemberIds[i % target.MemberIds.Count]), from, stopSubscribers.Token))).ToArray();
            var usage = Task.Run(() => SampleUsageAsync(shared, target, stop));
            double? ratePerPublisher = options.Rate / options.Publishers;
            var load = Task.WhenAll(publishers.Select(p => Task.Run(() =>
                new LoadPublisher(p, shared, options.Size, options.Window, ratePerPublisher).RunAsync(stop))));
            await LiveDisplay.ShowAsync(ProgressLine(shared, subscribers, target, start), load);
            await load;
            bool all = await AllDeliveredAsync(shared, subscribers, stop);
            await stopSubscribers.CancelAsync();
            await Task.WhenAll(reading);
            var (bench, memberFirst, memberLast) = await usage;
            if (timeline is not null)
            {
                await using var file = new StreamWriter(options.TimelinePath!);
                timeline.WriteCsv(file);
            }
            return Report(options, target, shared, subscribers, bench, memberFirst, memberLast, all);
        }
        finally
        {
            foreach (var p in publishers) await p.DisposeAsync();
        }
    }

    /// <summary>Publishes one message outside the run (no tag) and returns the position after it: where the run's messages start.</summary>
    private static async Task<long> ProbeAsync(Publisher publisher, CancellationToken stop)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(stop);
        guard.CancelAfter(Guard);
        try
        {
            long position = await publisher.PublishAsync(new byte[8], guard.Token);
            return Math.Max(0, position + 1);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            throw new BenchAbortedException($"the cluster did not acknowledge a first message within {Guard.TotalSeconds:0} s (no leader? check `abcast status`)");
        }
    }

    private static Func<string> ProgressLine(BenchShared shared, LoadSubscriber[] subscribers, BenchTarget target, long start)
    {
        long lastAcked = 0, lastDelivered = 0, lastAt = start;
        return () =>
        {
            long now = Stopwatch.GetTimestamp();
            double dt = Math.Max(1e-3, (now - lastAt) / (double)Stopwatch.Frequency);
            long acked = Interlocked.Read(ref shared.Acked);
            long delivered = subscribers.Length == 0 ? acked : subscribers[0].Delivered;
            string phase = now < shared.MeasureStart ? "warm-up" : now < shared.MeasureEnd ? "measure" : "drain";
            string line = $"{(now - start) / (double)Stopwatch.Frequency,6:0.0} s  {phase,-7}  acked {(acked - lastAcked) / dt,11:N0}/s  "
                + $"delivered {(delivered - lastDelivered) / dt,11:N0}/s  in flight {shared.InFlight,8:N0}  slowest ack {shared.TakeIntervalMaxAckMs(),7:0.0} ms  failed {Interlocked.Read(ref shared.Failed):N0}  "
                + $"leader {target.Leader()}";
            (lastAcked, lastDelivered, lastAt) = (acked, delivered, now);
            return line;
        };
    }

    private static async Task<bool> AllDeliveredAsync(BenchShared shared, LoadSubscriber[] subscribers, CancellationToken stop)
    {
        var guard = Stopwatch.StartNew();
        while (!subscribers.All(s => s.Delivered >= Interlocked.Read(ref shared.Acked)))
        {
            if (guard.Elapsed > Guard) return false;
            await Task.Delay(10, stop);
        }
        return true;
    }

    /// <summary>This process's usage over exactly the measurement window, and the members' figures at its two ends.</summary>
    private static async Task<(UsageSample Bench, Dictionary<ushort, StatusReplyMessage> MemberFirst, Dictionary<ushort, StatusReplyMessage> MemberLast)>
        SampleUsageAsync(BenchShared shared, BenchTarget target, CancellationToken stop)
    {
        var connections = await MemberFigures.ConnectAsync(target, stop);
        try
        {
            // Once during the warm-up too, so that both sides' code for it is compiled before the window opens.
            UsageSample.Now();
            await MemberFigures.ReadAsync(connections, stop);
            await DelayUntilAsync(shared.MeasureStart, stop);
            var first = UsageSample.Now();
            var memberFirst = await MemberFigures.ReadAsync(connections, stop);
            await DelayUntilAsync(shared.MeasureEnd, stop);
            var bench = UsageSample.Now() - first;
            var memberLast = await MemberFigures.ReadAsync(connections, stop);
            return (bench, memberFirst, memberLast);
        }
        finally
        {
            foreach (var connection in connections.Values) await connection.DisposeAsync();
        }
    }

    private static async Task DelayUntilAsync(long timestamp, CancellationToken stop)
    {
        long wait = timestamp - Stopwatch.GetTimestamp();
        if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), stop);
    }

    private static BenchReport Report(BenchOptions o, BenchTarget target, BenchShared shared, LoadSubscriber[] subscribers,
        UsageSample bench, Dictionary<ushort, StatusReplyMessage> memberFirst, Dictionary<ushort, StatusReplyMessage> memberLast, bool all)
    {
        double seconds = shared.MeasureSeconds;
        long delivered = subscribers.Length == 0 ? shared.AckedInWindow : (long)subscribers.Average(s => s.DeliveredInWindow);
        double bytes = subscribers.Length == 0 ? shared.AckedInWindow * (double)o.Size : subscribers.Average(s => s.BytesInWindow);
        var members = MemberFigures.Between(target.MemberIds, memberFirst, memberLast, delivered, seconds);
        long acked = Interlocked.Read(ref shared.AckedInWindow);
        string commit = typeof(BenchRunner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        return new BenchReport(target.Mode, target.Sync, o.Size, o.Publishers, o.Window, o.Rate, o.Seconds, o.Warmup, o.Subscribers,
            delivered / seconds, bytes / seconds / 1e6, acked / seconds,
            Interlocked.Read(ref shared.Published), Interlocked.Read(ref shared.Acked), Interlocked.Read(ref shared.Failed), delivered,
            shared.Ack.Snapshot(), shared.Delivery.Snapshot(),
            bench.CpuSeconds, new GcCounts(bench.Gen0, bench.Gen1, bench.Gen2), bench.GcPauseMs, acked == 0 ? 0 : bench.AllocatedBytes / (double)acked, members,
            all, commit, DateTimeOffset.UtcNow);
    }
}
