using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Transport.Tls;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace AtomicBcast.Bench.Transport;

/// <summary>
/// One loopback connection between two members, plain TCP next to TLS (mutual, ECDSA P-256 certificates from a
/// throwaway CA, whatever cipher the OS's TLS library negotiates), carrying 64 KiB frames one way; the reader parses
/// every frame. One operation is one frame: the mean is time per frame, GB/s is FrameBytes / mean.
/// Both sides prove the cluster secret in the hello (once per connection: not measured).
/// Run: dotnet run -c Release --project src/Bench -- --filter '*TlsLoopbackBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class TlsLoopbackBenchmarks
{
    public const int FrameBytes = 64 * 1024;
    private const int BodyBytes = FrameBytes - Limits.FrameHeaderBytes;
    private const int Frames = 512;   // 32 MiB per invocation
    private const int Burst = 16;

    private readonly byte[] _body = new byte[BodyBytes];
    private X509Certificate2? _ca;
    private IListener _listener = null!;
    private IConnection _client = null!;
    private IConnection _server = null!;

    [Params(false, true)]
    public bool Tls { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        Random.Shared.NextBytes(_body);
        TlsSettings? server = null, client = null;
        if (Tls)
        {
            _ca = CertificateAuthority.CreateCa("bench CA", TimeSpan.FromDays(1));
            server = new TlsSettings { TrustedCa = _ca, Certificate = CertificateAuthority.Issue(_ca, "member-1", IPAddress.Loopback, TimeSpan.FromDays(1)) };
            client = new TlsSettings { TrustedCa = _ca, Certificate = CertificateAuthority.Issue(_ca, "member-2", IPAddress.Loopback, TimeSpan.FromDays(1)) };
        }
        var auth = new HelloAuth { ClusterSecret = "bench-cluster-secret"u8.ToArray() };
        _listener = await new TcpTransport(Options(1, server, auth)).ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var connecting = new TcpTransport(Options(2, client, auth)).ConnectAsync(_listener.LocalEndPoint);
        _server = await _listener.AcceptAsync();
        _client = await connecting;
    }

    private static TransportOptions Options(ushort id, TlsSettings? tls, HelloAuth auth) => new()
    {
        LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, id, "bench"),
        IdleTimeout = Timeout.InfiniteTimeSpan,
        Tls = tls,
        Auth = auth,
    };

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _ca?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public Task Send64KiBFrames() => FrameBurst.SendAsync(_client.Output, _server.Input, _body, Frames, Burst);

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn(FrameBytes));
    }
}
