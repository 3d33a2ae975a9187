using System.Buffers;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Wire;

/// <summary>The leader's intake: 16 publish frames (64 messages of 64 B each) are parsed and checked
/// (ReadPublish walks every message length), their runs appended to a pooled builder, and the batch sealed.
/// Reported per message.</summary>
[MemoryDiagnoser]
public class BatchFromRunsBenchmarks
{
    private ReadOnlySequence<byte> _frames;
    private BatchBuilder _builder = null!;

    [Params(false, true)]
    public bool Lz4 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var payloads = WireBenchData.Payloads(64);
        var writer = new ArrayBufferWriter<byte>();
        for (int r = 0; r < WireBenchData.Runs; r++)
        {
            var run = payloads.Skip(r * WireBenchData.MessagesPerRun).Take(WireBenchData.MessagesPerRun).Select(p => (ReadOnlyMemory<byte>)p).ToArray();
            MessageWriter.WritePublish(writer, (ulong)r + 1, 1, run);
        }
        _frames = new ReadOnlySequence<byte>(writer.WrittenMemory.ToArray());
        _builder = BatchBuilderPool.Get();
        _builder.Lz4ThresholdBytes = Lz4 ? 0 : int.MaxValue;
    }

    [GlobalCleanup]
    public void Cleanup() => BatchBuilderPool.Return(_builder);

    [Benchmark(OperationsPerInvoke = WireBenchData.MessagesPerBatch)]
    public int BuildFromPublishFrames()
    {
        var frames = _frames;
        while (FrameCodec.TryReadFrame(ref frames, out var frame))
        {
            MessageReader.ReadPublish(frame, out var run);
            _builder.TryAppendRun(run);
        }
        var batch = _builder.Seal();
        int length = batch.Length;
        batch.Release();
        return length;
    }
}
