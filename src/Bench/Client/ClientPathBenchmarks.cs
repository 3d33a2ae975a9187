using System.Buffers;
using System.Threading.Channels;
using AtomicBcast.Bench.Wire;
using AtomicBcast.Client;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Client;

/// <summary>
/// The client's per-message work without sockets, reported per message.
/// <para>Publish: what <see cref="Publisher.PublishAsync"/> and its send loop do for 4096 messages of
/// <see cref="PayloadBytes"/>: accept (copy into the pooled chunk), form runs, write the publish frames into a reused
/// buffer, acknowledge (complete every task, free the chunk); <see cref="PublishWithoutTasks"/> the same for
/// <see cref="Publisher.TryPublish"/> (no task; the message objects come back for reuse). <see cref="PublishBefore"/>
/// re-creates the earlier path (a copied array, a completion source, a channel, a list and a LINQ array per run) as the
/// baseline; it is a reconstruction for comparison, not code the client still runs.</para>
/// <para>Deliver: load one delivered batch of 1024 messages (frame parse, CRC, every run and length checked) and
/// walk it in place (<see cref="DeliverInPlace"/>: what <see cref="Subscriber.ReadBatchesAsync"/> costs per message),
/// or copy every payload as <see cref="Subscriber.ReadAllAsync"/> does (<see cref="DeliverCopied"/>).</para>
/// </summary>
[MemoryDiagnoser]
public class ClientPathBenchmarks
{
    private const int Messages = 4096;
    private const int RunMessagesMax = 4096;
    private const int RunBytesMax = 256 * 1024;

    [Params(64, 1024)]
    public int PayloadBytes { get; set; }

    private readonly ArrayBufferWriter<byte> _wire = new(1 << 20);
    private readonly Task<long>[] _acks = new Task<long>[Messages];
    private PublishQueue _queue = null!;
    private readonly PublishRun _run = new();
    private byte[] _payload = [];
    private byte[] _deliverFrame = [];
    private readonly DeliveryBatch _batch = new();
    private readonly List<Delivery> _copies = new(WireBenchData.MessagesPerBatch);

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PayloadBytes];
        new Random(PayloadBytes).NextBytes(_payload);
        _queue = new PublishQueue(65536, 1 << 20);
        var batch = WireBenchData.Build(new BatchBuilder(int.MaxValue), WireBenchData.Payloads(PayloadBytes));
        var frame = new ArrayBufferWriter<byte>();
        MessageWriter.WriteDeliver(frame, 0, 0, [], batch.Span);
        batch.Release();
        _deliverFrame = frame.WrittenSpan.ToArray();
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public long Publish()
    {
        for (int i = 0; i < Messages; i++)
        {
            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            _queue.Enqueue(_payload, completion, CancellationToken.None, out _);
            _acks[i] = completion.Task;
        }
        SendAndAcknowledgeAll();
        return _acks[^1].Result;
    }

    /// <summary>What <see cref="Publisher.TryPublish"/> and its send loop do: no task, messages reused.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public ulong PublishWithoutTasks()
    {
        ulong last = 0;
        for (int i = 0; i < Messages; i++)
            if (!_queue.TryAccept(_payload, out last, out _)) throw new InvalidOperationException("the queue is full");
        SendAndAcknowledgeAll();
        return last;
    }

    private void SendAndAcknowledgeAll()
    {
        _wire.ResetWrittenCount();
        ulong seq = 1;
        long position = 0;
        while (_queue.TryTakeRun(RunMessagesMax, RunBytesMax, _run))
        {
            MessageWriter.WritePublish(_wire, 1, seq, _run.Count, _run.Messages);
            seq += (ulong)_run.Count;
            int count = _run.Count;
            _run.Acknowledge(position, _queue);
            position += count;
        }
    }

    private sealed class OldPending(ReadOnlyMemory<byte> payload)
    {
        public readonly ReadOnlyMemory<byte> Payload = payload;
        public readonly TaskCompletionSource<long> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<OldPending> _oldQueue = Channel.CreateBounded<OldPending>(new BoundedChannelOptions(65536) { SingleReader = true });

    [Benchmark(OperationsPerInvoke = Messages)]
    public long PublishBefore()
    {
        for (int i = 0; i < Messages; i++)
        {
            var pending = new OldPending(_payload.AsMemory().ToArray());
            _oldQueue.Writer.TryWrite(pending);
            _acks[i] = pending.Done.Task;
        }
        _wire.ResetWrittenCount();
        ulong seq = 1;
        long position = 0;
        while (true)
        {
            var messages = new List<OldPending>();
            int bytes = 0;
            while (messages.Count < RunMessagesMax && bytes < RunBytesMax && _oldQueue.Reader.TryRead(out var next))
            {
                messages.Add(next);
                bytes += next.Payload.Length;
            }
            if (messages.Count == 0) break;
            var run = messages.ToArray();
            var payloads = run.Select(m => m.Payload).ToArray();
            MessageWriter.WritePublish(_wire, 1, seq, payloads);
            seq += (ulong)run.Length;
            for (int k = 0; k < run.Length; k++) run[k].Done.TrySetResult(position + k);
            position += run.Length;
        }
        return _acks[^1].Result;
    }

    [Benchmark(OperationsPerInvoke = WireBenchData.MessagesPerBatch)]
    public int DeliverInPlace()
    {
        var buffer = new ReadOnlySequence<byte>(_deliverFrame);
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        _batch.TryLoad(frame, 0);
        int sum = 0;
        foreach (var payload in _batch) sum += payload.Length;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = WireBenchData.MessagesPerBatch)]
    public int DeliverCopied()
    {
        var buffer = new ReadOnlySequence<byte>(_deliverFrame);
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        _batch.TryLoad(frame, 0);
        _copies.Clear();
        _batch.CopyTo(_copies);
        return _copies.Count;
    }
}
