using System.Buffers;
using System.Net;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AtomicBcast.Bench.Transport;

/// <summary>
/// One loopback TCP connection through the whole transport (pipes, send and receive loops, gathered sends)
/// carrying 64 KiB frames one way; the reader parses every frame with FrameCodec. One operation is one frame,
/// so the mean is time per frame and the GB/s column is FrameBytes / mean.
/// Run: dotnet run -c Release --project src/Bench -- --filter '*LoopbackTcpBenchmark*' --job short
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class LoopbackTcpBenchmark
{
    public const int FrameBytes = 64 * 1024;                       // whole frame, header included
    private const int BodyBytes = FrameBytes - Limits.FrameHeaderBytes;
    private const int Frames = 1024;                                // 64 MiB per invocation

    private readonly byte[] _body = new byte[BodyBytes];
    private IListener _listener = null!;
    private IConnection _client = null!;
    private IConnection _server = null!;

    /// <summary>Frames written between two flushes: the burst the send loop gathers into one send.</summary>
    [Params(16)]
    public int Burst { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        Random.Shared.NextBytes(_body);
        var options = new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, 1, "bench"),
            IdleTimeout = Timeout.InfiniteTimeSpan,
        };
        var transport = new TcpTransport(options);
        _listener = await transport.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var connecting = transport.ConnectAsync(_listener.LocalEndPoint);
        _server = await _listener.AcceptAsync();
        _client = await connecting;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public Task Send64KiBFrames() => FrameBurst.SendAsync(_client.Output, _server.Input, _body, Frames, Burst);

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn(FrameBytes));
    }
}

/// <summary>Bytes per second from the mean time per operation, in GB/s (10^9 bytes/s).</summary>
public sealed class ThroughputColumn(int bytesPerOperation) : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{bytesPerOperation} bytes per operation / mean time, in 10^9 bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        // Mean is in nanoseconds, so bytes per nanosecond is GB/s.
        return statistics is null ? "NA" : (bytesPerOperation / statistics.Mean).ToString("0.000");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
