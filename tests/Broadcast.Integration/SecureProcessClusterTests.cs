using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AtomicBcast.Node;

namespace AtomicBcast.Integration;

/// <summary>
/// Real processes, the documented path: <c>abcast cluster init --tls</c> (secret, CA, member certificates), client
/// tokens added to cluster.json, three <c>abcast node</c> processes over mutual TLS; then publish and subscribe with and
/// without the right token, and a member restarted with another secret that must not get back in.
/// </summary>
public sealed class SecureProcessClusterTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.0} s: {what}");

    private const string Writer = "writer-token-0123456789";
    private const string Reader = "reader-token-0123456789";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "abcast-sec-it-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<int, Process> _nodes = new();

    [Fact]
    public async Task TlsSecretAndTokensFromTheCommandLineToRefusals()
    {
        int basePort = FreeConsecutivePorts(3);
        var init = await ProcessCluster.RunAsync($"cluster init --members 3 --base-port {basePort} --dir {_root} --tls");
        Assert.True(init.Code == 0, init.Err);
        var configPath = Path.Combine(_root, "cluster.json");
        var config = ClusterConfig.Load(configPath) with
        {
            Tokens = [new TokenConfig("writer", Writer, ["publish"]), new TokenConfig("reader", Reader, ["subscribe"])],
        };
        await File.WriteAllTextAsync(configPath, config.ToJson());
        for (int id = 1; id <= 3; id++) _nodes[id] = ProcessCluster.Start($"node --config {configPath} --id {id}", redirectInput: false);
        Step("nodes started");
        await WaitForLeaderAsync(config);
        Step("leader");

        var published = await ProcessCluster.RunAsync($"publish --config {configPath} --token {Writer}", "over tls\n");
        Assert.True(published.Code == 0, published.Err);
        Assert.Equal("0\tover tls", published.Out.Trim());
        var read = await ProcessCluster.RunAsync($"subscribe --config {configPath} --from 0 --count 1 --token {Reader}");
        Assert.True(read.Code == 0, read.Err);
        Assert.Equal("0\tover tls", read.Out.Trim());

        Step("published and read");
        var noRight = await ProcessCluster.RunAsync($"publish --config {configPath} --token {Reader}", "refused\n");
        Assert.Equal(5, noRight.Code);
        Assert.Contains("access denied", noRight.Err);
        Assert.Contains("does not have the publish right", noRight.Err);
        var noToken = await ProcessCluster.RunAsync($"subscribe --config {configPath} --from 0 --count 1");
        Assert.Equal(5, noToken.Code);
        Assert.Contains("no token this cluster knows", noToken.Err);

        Step("refusals");
        // Member 3 comes back with another secret (same certificate): the others refuse it, with the reason in their log.
        _nodes[3].Kill(entireProcessTree: true);
        await _nodes[3].WaitForExitAsync();
        var stranger = Path.Combine(_root, "stranger.json");
        await File.WriteAllTextAsync(stranger, (config with { Secret = "a-different-secret-entirely" }).ToJson());
        _nodes[3] = ProcessCluster.Start($"node --config {stranger} --id 3", redirectInput: false);
        var refusal = await FirstLineAsync(_nodes[3].StandardError, line => line.Contains("cluster secret"));
        Assert.Contains("AccessDenied", refusal);
        Step("stranger refused");
    }

    /// <summary>A leader means the members reached each other over TLS with the secret (it needs a quorum of promises).</summary>
    private static async Task WaitForLeaderAsync(ClusterConfig config)
    {
        var deadline = DateTime.UtcNow + ProcessCluster.Guard;
        while (!config.Members.Any(m => StatusFile.TryRead(m.DataDir) is { Role: "leader", Halted: false }))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no leader (failure guard)");
            await Task.Delay(50);
        }
    }

    private static async Task<string> FirstLineAsync(StreamReader reader, Func<string, bool> match)
    {
        using var guard = new CancellationTokenSource(ProcessCluster.Guard);
        while (await reader.ReadLineAsync(guard.Token) is { } line)
            if (match(line)) return line;
        throw new InvalidOperationException("the process ended without logging the refusal");
    }

    private static int FreeConsecutivePorts(int count)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using var first = new TcpListener(IPAddress.Loopback, 0);
            first.Start();
            int port = ((IPEndPoint)first.LocalEndpoint).Port;
            if (port + count > 65535) continue;
            var held = new List<TcpListener>();
            try
            {
                for (int i = 1; i < count; i++)
                {
                    var next = new TcpListener(IPAddress.Loopback, port + i);
                    next.Start();
                    held.Add(next);
                }
                return port;
            }
            catch (SocketException)
            {
            }
            finally
            {
                foreach (var listener in held) listener.Stop();
            }
        }
        throw new InvalidOperationException("no free consecutive ports");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 never calls a test class's DisposeAsync, and the member processes
    // outlived the run.
    public async Task DisposeAsync()
    {
        foreach (var p in _nodes.Values)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            p.Dispose();
        }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
