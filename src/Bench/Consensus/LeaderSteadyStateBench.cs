using AtomicBcast.Consensus;
using AtomicBcast.Wire;
using BenchmarkDotNet.Attributes;

namespace AtomicBcast.Bench.Consensus;

/// <summary>
/// The leader's steady state, in process: publisher runs in, Accepts out, the log's durable notice and a peer's
/// Accepted in, commit (delivery, acks, heartbeat) out. The log and the network are no-ops, so this is the core's own
/// cost. Results are per message (OperationsPerInvoke).
/// dotnet run -c Release --project src/Bench -- --filter '*LeaderSteadyState*' --job short
/// </summary>
[MemoryDiagnoser]
public class LeaderSteadyStateBench
{
    private const int MessagesPerInvoke = 1 << 16;
    private const int RunsBetweenAnswers = 512;
    private const ulong Producer = 42;

    [Params(64, 1024)]
    public int MessageBytes;

    [Params(1, 16)]
    public int MessagesPerRun;

    private NullHost _host = null!;
    private Member _leader = null!;
    private Ballot _ballot;
    private BatchBuffer[] _runs = [];
    private int _nextRun;
    private ulong _nextSeq = 1;
    private long _answeredUpTo = -1;

    [GlobalSetup]
    public void Setup()
    {
        var clock = new BenchClock();
        _host = new NullHost();
        _leader = new Member(new ConsensusOptions
        {
            NodeId = 1, Members = [1, 2, 3], Window = 16, BatchBytesMax = 1 << 20, RetainedInstances = 64,
            CheckpointEveryInstances = 1 << 12,
        }, _host, _host, clock, new Random(1));
        clock.NowMs = 10_000;
        _leader.Tick();
        _leader.Receive(2, new PreVoteReplyMessage(_host.LastPreVote, true, 0));
        _leader.Durable(_host.Lsn);
        _ballot = _host.LastPrepare;
        _leader.Receive(2, new PromiseMessage(_ballot, 0, true, []));
        if (!_leader.IsLeader) throw new InvalidOperationException("setup did not elect the leader");
        // A ring of reusable runs: a run is rewritten (new seqs) only once the core has released it.
        _runs = new BatchBuffer[4096];
        int body = MessagesPerRun * (Varint.Size((uint)MessageBytes) + MessageBytes);
        for (int i = 0; i < _runs.Length; i++)
        {
            _runs[i] = BatchBuffer.Rent(Limits.RunHeaderBytes + body);
            var span = _runs[i].WritableSpan;
            int offset = Limits.RunHeaderBytes;
            for (int k = 0; k < MessagesPerRun; k++)
            {
                offset += Varint.Write(span[offset..], (uint)MessageBytes);
                span.Slice(offset, MessageBytes).Fill((byte)k);
                offset += MessageBytes;
            }
        }
    }

    [Benchmark(OperationsPerInvoke = MessagesPerInvoke)]
    public void PublishToCommit()
    {
        int runs = MessagesPerInvoke / MessagesPerRun;
        for (int i = 0; i < runs; i++)
        {
            var run = _runs[_nextRun];
            _nextRun = (_nextRun + 1) & (_runs.Length - 1);
            if (run.References != 1) throw new InvalidOperationException("run still held by the core");
            new RunHeader(Producer, _nextSeq, MessagesPerRun, run.Length - Limits.RunHeaderBytes).Write(run.WritableSpan);
            _leader.Publish(0, new PublishMessage(Producer, _nextSeq, MessagesPerRun, run));
            _nextSeq += (ulong)MessagesPerRun;
            if (i % RunsBetweenAnswers == RunsBetweenAnswers - 1) Answer();
        }
        Answer();
    }

    /// <summary>The log syncs, and acceptor 2 answers every Accept so far: a majority with our own acceptor.</summary>
    private void Answer()
    {
        while (_host.LastAccept > _answeredUpTo)
        {
            long last = _host.LastAccept;
            _leader.Durable(_host.Lsn);
            _leader.Receive(2, new AcceptedMessage(_ballot, _answeredUpTo + 1, last));
            _answeredUpTo = last;
        }
    }

    private sealed class BenchClock : TimeProvider
    {
        public long NowMs;
        public override long GetTimestamp() => NowMs;
        public override long TimestampFrequency => 1000;
    }

    /// <summary>No I/O: counts what the core emits.</summary>
    private sealed class NullHost : IConsensusLog, IConsensusOutput
    {
        public long Lsn;
        public long LastAccept = -1;
        public Ballot LastPreVote;
        public Ballot LastPrepare;
        public long Delivered;
        public long Acks;

        public long AppendPromise(Ballot ballot) => ++Lsn;
        public long AppendAccept(long instance, Ballot ballot, BatchBuffer batch) => ++Lsn;
        public long AppendChosen(long instance, Ballot ballot, BatchBuffer batch) => ++Lsn;
        public long AppendCheckpoint(Checkpoint checkpoint) => ++Lsn;
        public bool TryReadValue(long instance, out LogValue value) { value = default; return false; }

        public void Send(ushort to, in PreVoteMessage message) => LastPreVote = message.Ballot;
        public void Send(ushort to, in PreVoteReplyMessage message) { }
        public void Send(ushort to, in PrepareMessage message) => LastPrepare = message.Ballot;
        public void Send(ushort to, in PromiseMessage message) { }
        public void Send(ushort to, in AcceptMessage message) => LastAccept = message.Instance;
        public void Send(ushort to, in AcceptedMessage message) { }
        public void Send(ushort to, in RejectedMessage message) { }
        public void Send(ushort to, in HeartbeatMessage message) { }
        public void Send(ushort to, in FetchMessage message) { }
        public void Send(ushort to, in FetchReplyMessage message) { }
        public void Send(ushort to, in CheckpointMessage message) { }
        public void Jumped(long instance, long nextPosition) { }
        public void Ack(long client, in PublishAckMessage ack) => Acks++;
        public void Deliver(in DeliverMessage delivery) => Delivered++;
    }
}
