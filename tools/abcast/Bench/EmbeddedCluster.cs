using System.Net;
using System.Net.Sockets;
using AtomicBcast.Cli.Commands;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Storage;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Cli.Bench;

/// <summary>
/// Three (or more) members in this process over real loopback TCP on free ports, with real logs in a temporary directory
/// that is removed on dispose. Used by <c>abcast demo</c> and <c>abcast bench --embedded</c>.
/// </summary>
internal sealed class EmbeddedCluster : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;

    private EmbeddedCluster(string clusterId, string root, Dictionary<ushort, IPEndPoint> members, ILoggerFactory loggers)
    {
        ClusterId = clusterId;
        Root = root;
        Members = members;
        _loggers = loggers;
    }

    public string ClusterId { get; }

    /// <summary>The temporary directory holding every member's data directory.</summary>
    public string Root { get; }

    public Dictionary<ushort, IPEndPoint> Members { get; }

    public List<MemberHost> Hosts { get; } = new();

    /// <summary>Starts <paramref name="count"/> members; the data directory is removed again if a start fails.</summary>
    public static async Task<EmbeddedCluster> StartAsync(string clusterId, int count, DurabilityMode durability, CancellationToken stop)
    {
        var root = Path.Combine(Path.GetTempPath(), $"abcast-{clusterId}-" + Guid.NewGuid().ToString("N")[..8]);
        var members = Enumerable.Range(1, count).ToDictionary(i => (ushort)i, _ => new IPEndPoint(IPAddress.Loopback, FreePort()));
        var cluster = new EmbeddedCluster(clusterId, root, members, CliSupport.StderrLoggers(LogLevel.Warning));
        try
        {
            foreach (var id in members.Keys)
                cluster.Hosts.Add(await MemberHost.StartAsync(new NodeOptions
                {
                    ClusterId = clusterId, NodeId = id, Members = members, DataDirectory = Path.Combine(root, id.ToString()),
                    Durability = durability,
                }, cluster._loggers, stop));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    public PublisherOptions PublisherOptions(int pendingMessagesMax = 65536, int windowRuns = 16) =>
        new() { ClusterId = ClusterId, Members = Members, PendingMessagesMax = pendingMessagesMax, WindowRuns = windowRuns };

    public SubscriberOptions SubscriberOptions(ushort preferred) => new() { ClusterId = ClusterId, Members = Members, PreferredMember = preferred };

    /// <summary>The member that believes it leads, or null.</summary>
    public ushort? Leader => Hosts.FirstOrDefault(h => h.Status.Role == Consensus.Role.Leader)?.Status.NodeId;

    /// <summary>The highest next position any member has delivered (a snapshot refreshed every tick).</summary>
    public long NextPosition => Hosts.Max(h => h.Status.NextPosition);

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts) await host.StopAsync();
        _loggers.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
