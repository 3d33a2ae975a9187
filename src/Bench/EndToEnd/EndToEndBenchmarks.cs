using System.Net;
using System.Net.Sockets;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.EndToEnd;

/// <summary>
/// Publisher to subscriber through three members in this process over loopback TCP, each with its durable
/// group-commit log under /tmp (fdatasync on or off: <see cref="Sync"/>). One invocation publishes
/// <see cref="Messages"/> messages of <see cref="Size"/> bytes from one publisher with
/// <see cref="Publisher.TryPublish"/> (all in flight at once; the publisher packs them into runs under its window),
/// waits for the acknowledgement of the last and until one subscriber (on a follower, reading batches in place)
/// received it; time is per message. Allocation covers the whole process: the publisher, the subscriber and all
/// three members. Columns Msgs/s and MB/s (10^6 bytes of payload) come from the mean.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(EndToEndConfig))]
public class EndToEndBenchmarks
{
    public const int Messages = 4096;
    private const string ClusterId = "bench-e2e";

    [Params(64, 1024, 8192)]
    public int Size { get; set; }

    [Params(true, false)]
    public bool Sync { get; set; }

    private readonly List<MemberHost> _hosts = new();
    private readonly CancellationTokenSource _stop = new();
    private string _root = "";
    private Publisher _publisher = null!;
    private Task _reading = Task.CompletedTask;
    private byte[] _payload = [];
    private long _delivered;             // messages the subscriber received (written by its task only)
    private long _target;                // the invocation waits until _delivered reaches this
    private TaskCompletionSource _reached = new();

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _root = Path.Combine(Path.GetTempPath(), $"abcast-bench-e2e-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var members = Enumerable.Range(1, 3).ToDictionary(i => (ushort)i, _ => new IPEndPoint(IPAddress.Loopback, FreePort()));
        foreach (var id in members.Keys)
            _hosts.Add(await MemberHost.StartAsync(new NodeOptions
            {
                ClusterId = ClusterId, NodeId = id, Members = members, DataDirectory = Path.Combine(_root, id.ToString()),
                Durability = Sync ? DurabilityMode.Sync : DurabilityMode.UnsafeNoSync,
            }));
        _payload = new byte[Size];
        new Random(1).NextBytes(_payload);
        _publisher = await Publisher.ConnectAsync(new PublisherOptions { ClusterId = ClusterId, Members = members });
        long first = await _publisher.PublishAsync(_payload); // waits for a leader
        var subscriber = await Subscriber.ConnectAsync(new SubscriberOptions { ClusterId = ClusterId, Members = members, PreferredMember = 2 });
        _reading = Task.Run(() => ReadAsync(subscriber, first + 1));
    }

    private async Task ReadAsync(Subscriber subscriber, long from)
    {
        try
        {
            // In place, as a high-throughput consumer reads (ReadAllAsync would add a copy of every payload).
            await foreach (var batch in subscriber.ReadBatchesAsync(from, _stop.Token))
            {
                long before = Volatile.Read(ref _delivered), delivered = before + batch.Count;
                Volatile.Write(ref _delivered, delivered);
                long target = Volatile.Read(ref _target);
                if (before < target && delivered >= target) _reached.TrySetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task PublishAndDeliver()
    {
        _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long target = Volatile.Read(ref _target) + Messages;
        Volatile.Write(ref _target, target);
        if (Volatile.Read(ref _delivered) >= target) _reached.TrySetResult();
        ulong last = 0;
        for (int i = 0; i < Messages; i++)
        {
            // The publisher's queue holds far more than one invocation's messages; waiting here is only a safeguard.
            while (!_publisher.TryPublish(_payload, out last))
                await _publisher.WaitAcknowledgedAsync(_publisher.AcknowledgedThrough + 1).ConfigureAwait(false);
        }
        await _publisher.WaitAcknowledgedAsync(last).ConfigureAwait(false);
        await _reached.Task.ConfigureAwait(false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _reading.GetAwaiter().GetResult();
        _publisher.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach (var host in _hosts) host.StopAsync().GetAwaiter().GetResult();
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
