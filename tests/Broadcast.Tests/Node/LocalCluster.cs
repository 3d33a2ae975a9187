using System.Net;
using System.Net.Sockets;
using AtomicBcast.Client;
using AtomicBcast.Node;

namespace AtomicBcast.Tests.Node;

/// <summary>A cluster of real member hosts in this process on free loopback ports, with real logs in a temp directory.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly string _root;

    private readonly long _retentionBytes;

    private LocalCluster(string root, Dictionary<ushort, IPEndPoint> members, long retentionBytes)
    {
        _root = root;
        _retentionBytes = retentionBytes;
        Members = members;
    }

    public Dictionary<ushort, IPEndPoint> Members { get; }
    public Dictionary<ushort, MemberHost> Hosts { get; } = new();
    public const string ClusterId = "it";

    public static async Task<LocalCluster> StartAsync(int count, long retentionBytes = 256L << 20,
        Dictionary<ushort, AtomicBcast.Storage.Devices.ILogDevice>? devices = null, Action<Tuning>? tune = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "abcast-test-" + Guid.NewGuid().ToString("N"));
        var members = Enumerable.Range(1, count).ToDictionary(i => (ushort)i, _ => new IPEndPoint(IPAddress.Loopback, FreePort()));
        var cluster = new LocalCluster(root, members, retentionBytes);
        tune?.Invoke(cluster.Settings);
        foreach (var id in members.Keys) await cluster.StartMemberAsync(id, devices?.GetValueOrDefault(id));
        return cluster;
    }

    /// <summary>Node settings for the members this cluster starts (null: the node's default).</summary>
    public sealed class Tuning
    {
        public Dictionary<ushort, long> RetentionBytes { get; } = new();
        public Func<AtomicBcast.Consensus.ConsensusOptions, AtomicBcast.Consensus.ConsensusOptions>? Consensus { get; set; }
        public long? SegmentBytes { get; set; }
        public long? LogRetainBytes { get; set; }
        public int? TrimIntervalMs { get; set; }

        /// <summary>Off unless a test asks: each member would write two 64 MiB spares of zeros (the log's tests cover spares).</summary>
        public bool PrepareLogSpares { get; set; }
    }

    public Tuning Settings { get; } = new();

    public HashSet<ushort> ExpectedHalts { get; } = new();

    public async Task StartMemberAsync(ushort id, AtomicBcast.Storage.Devices.ILogDevice? device = null)
    {
        var defaults = new NodeOptions { ClusterId = ClusterId, NodeId = id, Members = Members, DataDirectory = "" };
        Hosts[id] = await MemberHost.StartAsync(new NodeOptions
        {
            LogDevice = device,
            ClusterId = ClusterId, NodeId = id, Members = Members, DataDirectory = Path.Combine(_root, id.ToString()),
            SubscriberRetentionBytes = Settings.RetentionBytes.GetValueOrDefault(id, _retentionBytes),
            ConfigureConsensus = Settings.Consensus,
            SegmentBytes = Settings.SegmentBytes ?? defaults.SegmentBytes,
            LogRetainBytes = Settings.LogRetainBytes ?? defaults.LogRetainBytes,
            TrimIntervalMs = Settings.TrimIntervalMs ?? defaults.TrimIntervalMs,
            PrepareLogSpares = Settings.PrepareLogSpares,
        });
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan guard, string what)
    {
        var deadline = DateTime.UtcNow + guard;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what} (failure guard)");
            await Task.Delay(20);
        }
    }

    public async Task<ushort> WaitForLeaderAsync(TimeSpan guard, ushort except = 0)
    {
        var deadline = DateTime.UtcNow + guard;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var (id, host) in Hosts)
                if (id != except && host.Status.Role == AtomicBcast.Consensus.Role.Leader) return id;
            await Task.Delay(20);
        }
        throw new TimeoutException("no leader elected (failure guard)");
    }

    public PublisherOptions PublisherOptions(ushort? preferred = null) => new() { ClusterId = ClusterId, Members = Members, PreferredMember = preferred };
    public SubscriberOptions SubscriberOptions(ushort preferred) => new() { ClusterId = ClusterId, Members = Members, PreferredMember = preferred };

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts.Values) await host.StopAsync();
        foreach (var host in Hosts.Values.Where(h => !ExpectedHalts.Contains(h.Status.NodeId))) Assert.False(host.Status.Halted, $"member {host.Status.NodeId} halted");
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
