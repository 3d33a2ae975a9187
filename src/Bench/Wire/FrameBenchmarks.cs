using System.Buffers;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Wire;

/// <summary>Frame codecs around a batch: write an accept frame (fixed fields + a 64 KiB batch copy) into a reused
/// buffer writer, and read it back in place (header, batch slice, CRC check). Reported per frame.</summary>
[MemoryDiagnoser]
public class FrameBenchmarks
{
    private BatchBuffer _batch = null!;
    private ArrayBufferWriter<byte> _writer = null!;
    private ReadOnlySequence<byte> _frame;
    private readonly Ballot _ballot = Ballot.Create(7, 1);

    [GlobalSetup]
    public void Setup()
    {
        _batch = WireBenchData.Build(new BatchBuilder(int.MaxValue), WireBenchData.Payloads(64));
        _writer = new ArrayBufferWriter<byte>(_batch.Length + 64);
        MessageWriter.WriteAccept(_writer, _ballot, 1, 0, _batch.Span);
        _frame = new ReadOnlySequence<byte>(_writer.WrittenMemory.ToArray());
    }

    [Benchmark]
    public int WriteAcceptFrame()
    {
        _writer.ResetWrittenCount();
        MessageWriter.WriteAccept(_writer, _ballot, 1, 0, _batch.Span);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public long ReadAcceptFrame()
    {
        var buffer = _frame;
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        var header = MessageReader.ReadAccept(frame, out var batch);
        return header.Instance + batch.Length;
    }

    [Benchmark]
    public long WriteAndReadHeartbeat()
    {
        _writer.ResetWrittenCount();
        MessageWriter.Write(_writer, new HeartbeatMessage(_ballot, 42));
        var buffer = new ReadOnlySequence<byte>(_writer.WrittenMemory);
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        return MessageReader.ReadHeartbeat(frame).CommitUpTo;
    }
}
