using System.Net;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Transport;

namespace AtomicBcast.Tests.Security;

/// <summary>A one-member cluster in this process with a cluster secret and client tokens, for the security tests.</summary>
internal sealed class SecureMember : IAsyncDisposable
{
    public const string ClusterId = "secure";
    public const string Secret = "cluster-secret-for-tests";
    public const string Writer = "writer-token-0123456789";
    public const string Reader = "reader-token-0123456789";
    public const string Both = "both-token-0123456789ab";

    private readonly string _root;

    private SecureMember(string root, MemberHost host, IPEndPoint endPoint)
    {
        _root = root;
        Host = host;
        EndPoint = endPoint;
    }

    public MemberHost Host { get; }
    public IPEndPoint EndPoint { get; }
    public Dictionary<ushort, IPEndPoint> Members => new() { [1] = EndPoint };

    public static async Task<SecureMember> StartAsync(Microsoft.Extensions.Logging.ILoggerFactory? loggers = null,
        int perAddressMax = AtomicBcast.Limits.ConnectionsPerAddressMax, TimeSpan? helloTimeout = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "abcast-sec-" + Guid.NewGuid().ToString("N"));
        var endPoint = new IPEndPoint(IPAddress.Loopback, Tests.Node.LocalCluster.FreePort());
        var options = new NodeOptions
        {
            ClusterId = ClusterId,
            NodeId = 1,
            Members = new Dictionary<ushort, IPEndPoint> { [1] = endPoint },
            DataDirectory = root,
            ConnectionsPerAddressMax = perAddressMax,
            HelloTimeout = helloTimeout ?? TimeSpan.FromSeconds(5),
            ClusterSecret = Secret,
            ClientTokens =
            [
                new ClientCredential("writer", System.Text.Encoding.UTF8.GetBytes(Writer), ClientRights.Publish),
                new ClientCredential("reader", System.Text.Encoding.UTF8.GetBytes(Reader), ClientRights.Subscribe),
                new ClientCredential("both", System.Text.Encoding.UTF8.GetBytes(Both), ClientRights.All),
            ],
        };
        var host = await MemberHost.StartAsync(options, loggers);
        return new SecureMember(root, host, endPoint);
    }

    public PublisherOptions Publisher(string? token) => new()
    {
        ClusterId = ClusterId, Members = Members, Token = token, ConnectTimeout = TimeSpan.FromSeconds(5), AckTimeout = TimeSpan.FromSeconds(5),
    };

    public SubscriberOptions Subscriber(string? token) => new() { ClusterId = ClusterId, Members = Members, Token = token };

    public async Task WaitForLeaderAsync() =>
        await Tests.Node.LocalCluster.WaitUntilAsync(() => Host.Status.Role == AtomicBcast.Consensus.Role.Leader, TimeSpan.FromSeconds(20), "member 1 leads");

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
