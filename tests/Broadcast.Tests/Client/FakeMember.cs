using System.Buffers;
using System.Net;
using AtomicBcast.Transport;
using AtomicBcast.Transport.Tcp;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Client;

/// <summary>One publish run as a fake member received it, payloads copied.</summary>
internal sealed record ReceivedRun(ushort Member, int Connection, int IndexOnConnection, ulong ProducerId, ulong FirstSeq, byte[][] Payloads)
{
    public int Count => Payloads.Length;
}

/// <summary>What a fake member does with a received run.</summary>
internal abstract record FakeReply
{
    /// <summary>Commit the run into the shared log and answer with its position (the first attempt's, for a resend).</summary>
    public sealed record Commit : FakeReply;

    /// <summary>Commit the run, but the answer is lost.</summary>
    public sealed record CommitSilently : FakeReply;

    /// <summary>Answer NotLeader, naming <paramref name="Leader"/>.</summary>
    public sealed record NotLeader(ushort Leader) : FakeReply;

    /// <summary>Say nothing (yet): the run is held until <see cref="FakeMember.ReleaseHeld"/>.</summary>
    public sealed record Hold : FakeReply;

    public static readonly FakeReply Ok = new Commit();
}

/// <summary>
/// The ordered log a few fake members share: exactly-once by (producer, seq) like the real cluster, positions in commit
/// order, and a resend must repeat the first attempt's run boundaries and bytes (anything else is recorded as a violation).
/// </summary>
internal sealed class FakeLog
{
    private readonly Dictionary<(ulong Producer, ulong FirstSeq), (int Count, long Position, byte[][] Payloads)> _runs = new();
    private readonly Dictionary<ulong, ulong> _expected = new();
    public List<byte[]> Messages { get; } = new();
    public List<string> Violations { get; } = new();

    /// <summary>Commits (or recognises) the run; returns the position of its first message.</summary>
    public long Commit(ReceivedRun run)
    {
        lock (this)
        {
            if (_runs.TryGetValue((run.ProducerId, run.FirstSeq), out var earlier))
            {
                if (earlier.Count != run.Count || !earlier.Payloads.Zip(run.Payloads).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
                    Violations.Add($"run at seq {run.FirstSeq} resent with other boundaries or bytes");
                return earlier.Position;
            }
            ulong expected = _expected.GetValueOrDefault(run.ProducerId, 1UL);
            if (run.FirstSeq != expected) Violations.Add($"run at seq {run.FirstSeq}, expected {expected}");
            long position = Messages.Count;
            Messages.AddRange(run.Payloads);
            _runs[(run.ProducerId, run.FirstSeq)] = (run.Count, position, run.Payloads);
            _expected[run.ProducerId] = run.FirstSeq + (ulong)run.Count;
            return position;
        }
    }
}

/// <summary>
/// A member that speaks only the publish side of the wire, on loopback TCP, answering each run as
/// <c>reply</c> says: lets a test lose acknowledgements, redirect, or hold answers, deterministically.
/// </summary>
internal sealed class FakeMember : IAsyncDisposable
{
    private readonly IListener _listener;
    private readonly FakeLog _log;
    private readonly Func<ReceivedRun, FakeReply> _reply;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(IConnection Connection, ReceivedRun Run)> _held = new();
    private readonly Task _accepting;
    private readonly SemaphoreSlim _writing = new(1); // answers come from the connection's loop and from ReleaseHeldAsync
    private readonly SemaphoreSlim _heldArrivals = new(0); // released once per run held
    private int _connections;

    private FakeMember(ushort id, IListener listener, FakeLog log, Func<ReceivedRun, FakeReply> reply)
    {
        (Id, _listener, _log, _reply) = (id, listener, log, reply);
        _accepting = Task.Run(AcceptAsync);
    }

    public ushort Id { get; }
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint;
    public List<ReceivedRun> Received { get; } = new();

    public static async Task<FakeMember> StartAsync(ushort id, string clusterId, FakeLog log, Func<ReceivedRun, FakeReply> reply)
    {
        var transport = new TcpTransport(new TransportOptions
        {
            LocalHello = new HelloMessage(HelloMessage.CurrentVersion, PeerKind.Member, id, clusterId),
            IdleTimeout = Timeout.InfiniteTimeSpan,
        });
        var listener = await transport.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return new FakeMember(id, listener, log, reply);
    }

    /// <summary>Completes once <paramref name="count"/> more runs have been held (counted from the last wait).</summary>
    public async Task WaitForHeldAsync(int count)
    {
        for (int i = 0; i < count; i++) await _heldArrivals.WaitAsync();
    }

    /// <summary>Commits and answers every held run, in the order received.</summary>
    public async Task ReleaseHeldAsync()
    {
        List<(IConnection Connection, ReceivedRun Run)> held;
        lock (_held)
        {
            held = _held.ToList();
            _held.Clear();
        }
        foreach (var (connection, run) in held)
        {
            try
            {
                await AnswerAsync(connection, run, FakeReply.Ok);
            }
            catch (Exception)
            {
                // That connection is gone (the publisher resent elsewhere); the run is committed all the same.
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var connection = await _listener.AcceptAsync(_stop.Token);
                int index = Interlocked.Increment(ref _connections);
                _ = Task.Run(() => ServeAsync(connection, index));
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task ServeAsync(IConnection connection, int index)
    {
        int runs = 0;
        try
        {
            while (true)
            {
                var result = await connection.Input.ReadAsync(_stop.Token);
                var buffer = result.Buffer;
                var received = new List<ReceivedRun>();
                while (FrameCodec.TryReadFrame(ref buffer, out var frame))
                    if (frame.Type == MessageType.Publish) received.Add(Decode(frame, index, runs++));
                connection.Input.AdvanceTo(buffer.Start, result.Buffer.End);
                foreach (var run in received)
                {
                    lock (Received) Received.Add(run);
                    var reply = _reply(run);
                    if (reply is FakeReply.Hold)
                    {
                        lock (_held) _held.Add((connection, run));
                        _heldArrivals.Release();
                    }
                    else await AnswerAsync(connection, run, reply);
                }
                if (result.IsCompleted) return;
            }
        }
        catch (Exception)
        {
            // The publisher went away or the test ended: this connection is done.
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private ReceivedRun Decode(in Frame frame, int connection, int index)
    {
        var header = MessageReader.ReadPublish(frame, out var run);
        var bytes = run.Slice(Limits.RunHeaderBytes).ToArray();
        var payloads = new List<byte[]>();
        foreach (var payload in new RunMessageReader(bytes, header.Count)) payloads.Add(payload.ToArray());
        return new ReceivedRun(Id, connection, index, header.ProducerId, header.FirstSeq, payloads.ToArray());
    }

    private async Task AnswerAsync(IConnection connection, ReceivedRun run, FakeReply reply)
    {
        PublishAckMessage ack;
        switch (reply)
        {
            case FakeReply.NotLeader(var leader):
                ack = new PublishAckMessage(run.ProducerId, run.FirstSeq, run.Count, PublishStatus.NotLeader, 0, 0, leader);
                break;
            case FakeReply.CommitSilently:
                _log.Commit(run);
                return;
            default:
                long position = _log.Commit(run);
                ack = new PublishAckMessage(run.ProducerId, run.FirstSeq, run.Count, PublishStatus.Committed, position, 0, Id);
                break;
        }
        await _writing.WaitAsync();
        try
        {
            MessageWriter.Write(connection.Output, ack);
            await connection.Output.FlushAsync();
        }
        finally
        {
            _writing.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _listener.DisposeAsync();
        await _accepting;
    }
}
