using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Wire;

/// <summary>Decoding: verify the CRC, expand LZ4 if flagged, and walk every run and message of a 1024-message
/// batch in place (touching each payload). Reported per message.</summary>
[MemoryDiagnoser]
public class BatchDecodeBenchmarks
{
    private byte[] _batch = null!;

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    [Params(false, true)]
    public bool Lz4 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var builder = new BatchBuilder(Lz4 ? 0 : int.MaxValue);
        var batch = WireBenchData.Build(builder, WireBenchData.Payloads(PayloadBytes));
        _batch = batch.Span.ToArray();
        batch.Release();
        if (Lz4 != ((BatchHeader.Read(_batch).Flags & BatchFlags.Lz4) != 0)) throw new InvalidOperationException("LZ4 setting not applied");
    }

    [Benchmark(OperationsPerInvoke = WireBenchData.MessagesPerBatch)]
    public int DecodeBatch()
    {
        int sum = 0;
        using var opened = BatchReader.Open(_batch);
        var runs = opened.EnumerateRuns();
        while (runs.MoveNext())
        {
            foreach (var payload in runs.Messages)
                sum += payload.Length + payload[^1];
        }
        return sum;
    }
}
