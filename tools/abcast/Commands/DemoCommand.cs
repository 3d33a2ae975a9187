using System.CommandLine;
using System.Diagnostics;
using System.Net;
using AtomicBcast.Cli.Bench;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast demo</c>: a 3-member cluster in this process on free loopback ports, data in a temporary directory
/// (removed at exit), publishers and one subscriber per member for a few seconds, live progress, then a summary.
/// </summary>
internal static class DemoCommand
{
    private const string ClusterId = "demo";

    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "how long the publishers run", DefaultValueFactory = _ => 5 };
        var size = new Option<int>("--size") { Description = "bytes per message", DefaultValueFactory = _ => 100 };
        var publishers = new Option<int>("--publishers") { Description = "concurrent publishers", DefaultValueFactory = _ => 2 };
        var command = new Command("demo", "run a 3-member cluster in this process and show it working") { seconds, size, publishers };
        command.SetAction(parse => Run(parse.GetValue(seconds), parse.GetValue(size), parse.GetValue(publishers)));
        return command;
    }

    private static int Run(int seconds, int size, int publisherCount)
    {
        if (seconds is < 1 or > 3600 || size is < 8 or > 1 << 20 || publisherCount is < 1 or > 64)
            throw new ConfigException("--seconds 1..3600, --size 8..1048576, --publishers 1..64");
        using var signal = CliSupport.OnStopSignal();
        return RunAsync(seconds, size, publisherCount, signal.Token).GetAwaiter().GetResult();
    }

    private sealed class SubscriberProgress
    {
        public long Count;
        public ulong Hash;       // running hash of the payloads in position order
        public long HashedUpTo;  // positions folded into Hash
    }

    private static async Task<int> RunAsync(int seconds, int size, int publisherCount, CancellationToken stop)
    {
        await using var cluster = await EmbeddedCluster.StartAsync(ClusterId, 3, DurabilityMode.Sync, stop);
        Console.WriteLine($"3 members on {string.Join(", ", cluster.Members.Values)}; data in {cluster.Root} (removed at exit)");
        return await RunLoadAsync(cluster.Hosts, cluster.Members, seconds, size, publisherCount, stop);
    }

    private static async Task<int> RunLoadAsync(List<MemberHost> hosts, Dictionary<ushort, IPEndPoint> members, int seconds, int size,
        int publisherCount, CancellationToken stop)
    {
        using var stopSubscribers = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var progress = members.Keys.ToDictionary(id => id, _ => new SubscriberProgress());
        var subscribers = members.Keys.Select(id => Task.Run(() => SubscribeAsync(members, id, progress[id], stopSubscribers.Token))).ToArray();

        var latencies = new List<long>[publisherCount];
        long acked = 0;
        using var publishing = CancellationTokenSource.CreateLinkedTokenSource(stop);
        publishing.CancelAfter(TimeSpan.FromSeconds(seconds));
        var clock = Stopwatch.StartNew();
        var publishers = Enumerable.Range(0, publisherCount).Select(p =>
        {
            latencies[p] = new List<long>(1 << 16);
            return Task.Run(() => PublishAsync(members, size, latencies[p], () => Interlocked.Increment(ref acked), publishing.Token));
        }).ToArray();

        await ShowProgressAsync(hosts, progress, () => Interlocked.Read(ref acked), clock, Task.WhenAll(publishers));
        double elapsed = clock.Elapsed.TotalSeconds;
        long total = Interlocked.Read(ref acked);
        // Every acked message is delivered; wait (failure guard only) until each subscriber reached them all.
        // The members' status is a snapshot refreshed every tick, so the end is re-read while waiting: it can only
        // grow, and it is at least the number of acked messages (each takes one position).
        long end = Math.Max(total, hosts.Max(h => h.Status.NextPosition));
        var guard = Stopwatch.StartNew();
        while (guard.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20, stop);
            end = Math.Max(end, hosts.Max(h => h.Status.NextPosition));
            if (progress.Values.All(p => Volatile.Read(ref p.HashedUpTo) >= end)) break;
        }
        await stopSubscribers.CancelAsync();
        await Task.WhenAll(subscribers).ContinueWith(_ => { }, TaskScheduler.Default);
        return Summarize(total, end, elapsed, size, latencies, progress);
    }

    private static async Task PublishAsync(Dictionary<ushort, IPEndPoint> members, int size, List<long> latencies, Action onAck, CancellationToken stop)
    {
        await using var publisher = await Publisher.ConnectAsync(new PublisherOptions { ClusterId = ClusterId, Members = members }, stop);
        const int outstanding = 256;
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var inFlight = new Queue<(long Start, Task<long> Ack)>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                while (inFlight.Count < outstanding) inFlight.Enqueue((Stopwatch.GetTimestamp(), publisher.PublishAsync(payload)));
                var (start, ack) = inFlight.Dequeue();
                await ack;
                latencies.Add(Stopwatch.GetTimestamp() - start);
                onAck();
            }
            while (inFlight.TryDequeue(out var left))
            {
                await left.Ack;
                latencies.Add(Stopwatch.GetTimestamp() - left.Start);
                onAck();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task SubscribeAsync(Dictionary<ushort, IPEndPoint> members, ushort member, SubscriberProgress progress,
        CancellationToken stop)
    {
        await using var subscriber = await Subscriber.ConnectAsync(new SubscriberOptions { ClusterId = ClusterId, Members = members, PreferredMember = member }, stop);
        ulong hash = 14695981039346656037UL; // FNV-1a 64 over (payload, position) in order
        try
        {
            await foreach (var d in subscriber.ReadAllAsync(0, stop))
            {
                foreach (byte b in d.Payload.Span) hash = (hash ^ b) * 1099511628211UL;
                hash = (hash ^ (ulong)d.Position) * 1099511628211UL;
                Interlocked.Increment(ref progress.Count);
                progress.Hash = hash;
                Volatile.Write(ref progress.HashedUpTo, d.Position + 1);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task ShowProgressAsync(List<MemberHost> hosts, Dictionary<ushort, SubscriberProgress> progress, Func<long> acked,
        Stopwatch clock, Task publishing)
    {
        string Line()
        {
            var leader = hosts.FirstOrDefault(h => h.Status.Role == Consensus.Role.Leader)?.Status.NodeId;
            double rate = acked() / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            return $"{clock.Elapsed.TotalSeconds,5:0.0} s  acked {acked(),9:N0}  ({rate,9:N0} msg/s)  leader {(leader is null ? "-" : leader)}  "
                + "subscribers " + string.Join(" ", progress.Select(p => $"m{p.Key}:{Volatile.Read(ref p.Value.Count):N0}"));
        }
        if (Console.IsOutputRedirected)
        {
            while (!publishing.IsCompleted)
            {
                await Task.WhenAny(publishing, Task.Delay(1000));
                Console.WriteLine(Line());
            }
            return;
        }
        await AnsiConsole.Live(new Markup("")).StartAsync(async context =>
        {
            while (!publishing.IsCompleted)
            {
                context.UpdateTarget(new Markup(Markup.Escape(Line())));
                await Task.WhenAny(publishing, Task.Delay(250));
            }
            context.UpdateTarget(new Markup(Markup.Escape(Line())));
        });
    }

    private static int Summarize(long total, long end, double elapsed, int size, List<long>[] latencies, Dictionary<ushort, SubscriberProgress> progress)
    {
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Ms(double quantile) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, quantile * all.Length)] * 1000.0 / Stopwatch.Frequency;
        bool complete = progress.Values.All(p => Volatile.Read(ref p.HashedUpTo) == end);
        bool same = complete && progress.Values.Select(p => p.Hash).Distinct().Count() == 1;
        Console.WriteLine();
        Console.WriteLine($"messages      {total:N0} acknowledged ({end:N0} delivered positions), {size} bytes each");
        Console.WriteLine($"throughput    {total / elapsed:N0} messages/s, {total * (double)size / elapsed / (1 << 20):N1} MB/s over {elapsed:0.0} s");
        Console.WriteLine($"commit        p50 {Ms(0.50):0.00} ms, p99 {Ms(0.99):0.00} ms (publish call to durable ack on a majority)");
        Console.WriteLine(same
            ? $"order         all {progress.Count} subscribers saw the same {end:N0} messages in the same order"
            : $"order         MISMATCH: subscribers reached {string.Join(", ", progress.Select(p => $"m{p.Key}={p.Value.HashedUpTo}"))} of {end}, hashes "
              + string.Join(", ", progress.Values.Select(p => p.Hash.ToString("x16"))));
        return same ? 0 : 1;
    }
}
