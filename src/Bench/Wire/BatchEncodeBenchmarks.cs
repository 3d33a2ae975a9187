using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Wire;

/// <summary>Encoding: append 1024 messages (16 runs) to a pooled builder and seal (copy, optional LZ4, CRC32C).
/// Reported per message.</summary>
[MemoryDiagnoser]
public class BatchEncodeBenchmarks
{
    private BatchBuilder _builder = null!;
    private byte[][] _payloads = null!;

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    [Params(false, true)]
    public bool Lz4 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payloads = WireBenchData.Payloads(PayloadBytes);
        _builder = BatchBuilderPool.Get();
        _builder.Lz4ThresholdBytes = Lz4 ? 0 : int.MaxValue;
    }

    [GlobalCleanup]
    public void Cleanup() => BatchBuilderPool.Return(_builder);

    [Benchmark(OperationsPerInvoke = WireBenchData.MessagesPerBatch)]
    public int EncodeBatch()
    {
        var batch = WireBenchData.Build(_builder, _payloads);
        int length = batch.Length;
        batch.Release();
        return length;
    }
}
