using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Consensus;

internal sealed class ManualClock : TimeProvider
{
    public long NowMs;
    public override long GetTimestamp() => NowMs;
    public override long TimestampFrequency => 1000;
}

/// <summary>Captures a member's effects; the log syncs only when the test says so.</summary>
internal sealed class TestHost : IConsensusLog, IConsensusOutput
{
    public readonly List<(ushort To, object Message)> Sent = new();
    public readonly List<string> Log = new();
    public readonly List<DeliverMessage> Delivered = new();
    public readonly List<(long Client, PublishAckMessage Ack)> Acks = new();
    public long Lsn;

    public long AppendPromise(Ballot ballot) { Log.Add($"promise {ballot}"); return ++Lsn; }
    public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch) { Log.Add($"accept {instance} {ballot}"); return ++Lsn; }
    public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch) { Log.Add($"chosen {instance}"); return ++Lsn; }
    public long AppendCheckpoint(Checkpoint checkpoint) { Log.Add($"checkpoint {checkpoint.Instance}"); Checkpoints.Add(checkpoint); return ++Lsn; }

    /// <summary>What <see cref="TryReadValue"/> answers: the test fills it as a log would hold it.</summary>
    public readonly Dictionary<long, (Ballot Ballot, byte[] Bytes)> LogValues = new();
    public readonly List<Checkpoint> Checkpoints = new();
    public readonly List<(long Instance, long NextPosition)> Jumps = new();
    public int LogReads;

    public bool TryReadValue(long instance, out LogValue value)
    {
        LogReads++;
        value = default;
        if (!LogValues.TryGetValue(instance, out var held)) return false;
        value = new LogValue(instance, held.Ballot, BatchBuffer.CopyOf(held.Bytes));
        return true;
    }

    public IEnumerable<T> SentOf<T>() => Sent.Select(s => s.Message).OfType<T>();
    public IEnumerable<(ushort To, T Message)> SentTo<T>() => Sent.Where(s => s.Message is T).Select(s => (s.To, (T)s.Message));

    public void Send(ushort to, in PreVoteMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in PreVoteReplyMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in PrepareMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in PromiseMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in AcceptMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in AcceptedMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in RejectedMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in HeartbeatMessage message) => Sent.Add((to, message));
    public void Send(ushort to, in FetchMessage message) => Sent.Add((to, message));
    // A copy: the batch is borrowed for the call (a value read from the log is released right after it).
    public void Send(ushort to, in FetchReplyMessage message) =>
        Sent.Add((to, message with { Batch = message.Batch is { } b ? BatchBuffer.CopyOf(b.Span) : null }));
    public void Send(ushort to, in CheckpointMessage message) => Sent.Add((to, message));
    public void Jumped(long instance, long nextPosition) => Jumps.Add((instance, nextPosition));
    public void Ack(long client, in PublishAckMessage ack) => Acks.Add((client, ack));
    public void Deliver(in DeliverMessage delivery) => Delivered.Add(delivery);

    public static Member Create(TestHost host, ManualClock clock, ushort id = 1, int members = 3) =>
        new(new ConsensusOptions { NodeId = id, Members = Enumerable.Range(1, members).Select(i => (ushort)i).ToArray(), Window = 4, PromiseChunkInstances = Limits.PromiseChunkRecordsMax },
            host, host, clock, new Random(1));

    /// <summary>A batch with one run of <paramref name="count"/> one-byte messages.</summary>
    public static BatchBuffer Batch(ulong producer, ulong firstSeq, int count, byte fill = 7)
    {
        var run = Run(producer, firstSeq, count, fill);
        var batch = BatchBuffer.Rent(Limits.BatchHeaderBytes + run.Length);
        run.CopyTo(batch.WritableSpan[Limits.BatchHeaderBytes..]);
        BatchCodec.WriteHeader(batch.WritableSpan, BatchFlags.None, 1, count, run.Length);
        return batch;
    }

    public static byte[] Run(ulong producer, ulong firstSeq, int count, byte fill = 7)
    {
        var run = new byte[Limits.RunHeaderBytes + count * 2];
        new RunHeader(producer, firstSeq, count, count * 2).Write(run);
        for (int i = 0; i < count; i++)
        {
            run[Limits.RunHeaderBytes + 2 * i] = 1;
            run[Limits.RunHeaderBytes + 2 * i + 1] = fill;
        }
        return run;
    }
}
