using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Wire;

namespace AtomicBcast.Integration;

/// <summary>Members as real <c>abcast node</c> processes on loopback, with a cluster.json in a temp directory.</summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly Dictionary<int, Process> _nodes = new();

    private ProcessCluster(string root, ClusterConfig config, string configPath)
    {
        Root = root;
        Config = config;
        ConfigPath = configPath;
    }

    public string Root { get; }
    public ClusterConfig Config { get; }
    public string ConfigPath { get; }

    /// <summary>The abcast binary built next to this test's configuration.</summary>
    public static string Abcast
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AtomicBcast.sln"))) dir = dir.Parent;
            if (dir is null) throw new InvalidOperationException("cannot find the repository root");
#if DEBUG
            const string configuration = "Debug";
#else
            const string configuration = "Release";
#endif
            return Path.Combine(dir.FullName, "tools", "abcast", "bin", configuration, "net10.0", "abcast");
        }
    }

    public static async Task<ProcessCluster> StartAsync(int count)
    {
        var root = Path.Combine(Path.GetTempPath(), "abcast-it-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var members = Enumerable.Range(1, count).Select(id => new MemberConfig(id, $"127.0.0.1:{FreePort()}", $"data/{id}")).ToArray();
        var path = Path.Combine(root, "cluster.json");
        await File.WriteAllTextAsync(path, new ClusterConfig("it", members).ToJson());
        var cluster = new ProcessCluster(root, ClusterConfig.Load(path), path);
        foreach (var m in members) cluster.StartNode(m.Id);
        return cluster;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void StartNode(int id) => _nodes[id] = Start($"node --config {ConfigPath} --id {id}", redirectInput: false);

    public static Process Start(string arguments, bool redirectInput)
    {
        var info = new ProcessStartInfo(Abcast, arguments)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = redirectInput, UseShellExecute = false,
        };
        var process = Process.Start(info)!;
        return process;
    }

    /// <summary>Runs abcast to completion: exit code, stdout, stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string arguments, string? stdin = null)
    {
        using var process = Start(arguments, stdin is not null);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        await process.WaitForExitAsync().WaitAsync(Guard);
        return (process.ExitCode, await output, await error);
    }

    public void Kill9(int id)
    {
        _nodes[id].Kill(entireProcessTree: true);
        _nodes[id].WaitForExit();
    }

    /// <summary>Member <paramref name="id"/>'s state over the wire, or null when it does not answer.</summary>
    public Task<StatusReplyMessage?> StatusAsync(int id) =>
        StatusQuery.TryQueryAsync(new SubscriberOptions { ClusterId = Config.ClusterId, Members = Members(), ConnectTimeout = TimeSpan.FromSeconds(1) },
            (ushort)id);

    /// <summary>The member that answers it leads (0 if none).</summary>
    public async Task<int> LeaderAsync()
    {
        foreach (var m in Config.Members)
            if (_nodes.TryGetValue(m.Id, out var p) && !p.HasExited && await StatusAsync(m.Id) is { Role: MemberRole.Leader, Halted: false })
                return m.Id;
        return 0;
    }

    public async Task<int> WaitForLeaderAsync()
    {
        var deadline = DateTime.UtcNow + Guard;
        while (DateTime.UtcNow < deadline)
        {
            if (await LeaderAsync() is var id and > 0) return id;
            await Task.Delay(50);
        }
        throw new TimeoutException("no leader (failure guard)");
    }

    /// <summary>Waits until member <paramref name="id"/> answers that it delivered everything below <paramref name="position"/>.</summary>
    public async Task WaitForDeliveredAsync(int id, long position)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (await StatusAsync(id) is not { } s || s.NextPosition < position)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"member {id} did not deliver up to {position} (failure guard)");
            await Task.Delay(50);
        }
    }

    public PublisherOptions PublisherOptions() => new() { ClusterId = Config.ClusterId, Members = Members() };
    public SubscriberOptions SubscriberOptions(int preferred) => new() { ClusterId = Config.ClusterId, Members = Members(), PreferredMember = (ushort)preferred };
    private Dictionary<ushort, IPEndPoint> Members() => Config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint);

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _nodes.Values)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            p.Dispose();
        }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Reads a stream from <paramref name="from"/> until <paramref name="count"/> messages arrived (guarded);
    /// with <paramref name="onlyPreferred"/>, checks the preferred member served it all (no switch, no reconnect).</summary>
    public async Task<List<(long Position, string Text)>> ReadAsync(int preferred, long from, int count, bool onlyPreferred = false)
    {
        await using var subscriber = await Subscriber.ConnectAsync(SubscriberOptions(preferred));
        using var guard = new CancellationTokenSource(Guard);
        var received = new List<(long, string)>();
        await foreach (var d in subscriber.ReadAllAsync(from, guard.Token))
        {
            received.Add((d.Position, Encoding.UTF8.GetString(d.Payload.Span)));
            if (received.Count == count) break;
        }
        if (onlyPreferred) Assert.Equal((preferred, 0), (subscriber.CurrentMember, subscriber.Reconnects));
        return received;
    }
}
