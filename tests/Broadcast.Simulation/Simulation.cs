using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Simulation;

/// <summary>The outcome of one simulated run.</summary>
internal sealed record SimResult(string Config, int Seed, IReadOnlyList<string> Violations, long Events, long Delivered, long EndMs, string Stats,
    (long PinnedTrims, long AcceptsBelowFloor, long PromisesRefused) FloorPaths = default,
    (long LogServed, long CheckpointsSent, long Jumps, long TrimmedSegments, long StaleLeaderStepDowns) CatchupPaths = default)
{
    public bool Passed => Violations.Count == 0;

    public string ReplayCommand =>
        $"SIM_SEED={Seed} SIM_CONFIG={Config} dotnet test tests/Broadcast.Simulation -c Release --filter FullyQualifiedName~SimulationTests.Replay";

    public override string ToString() => Passed
        ? $"{Config} seed {Seed}: ok, {Delivered} messages, {Events} events, {EndMs} ms simulated; {Stats}"
        : $"{Config} seed {Seed}: {Violations.Count} violation(s)\n  {string.Join("\n  ", Violations)}\n  replay: {ReplayCommand}";
}

/// <summary>
/// One deterministic run: N real <see cref="Member"/> cores in one thread over a simulated network, disks and clock,
/// with publishers and subscribers. A fault phase (drops, duplicates, reordering, partitions, one-way links, crashes,
/// torn writes, fsync failures) is followed by a quiet phase in which everything acked must reach every member.
/// Everything random comes from the seed, so a run replays exactly.
/// </summary>
internal sealed class Simulation
{
    private const int TickMs = 5;
    private readonly SimConfig _config;
    private readonly int _seed;
    private readonly Random _random;
    private readonly SimClock _clock = new();
    private readonly Scheduler _scheduler;
    private readonly ushort[] _memberIds;
    private readonly bool[,] _blocked;
    private readonly List<SimPublisher> _publishers = new();
    private readonly List<SimSubscriber> _subscribers = new();
    private bool _faults = true;
    private int _crashes, _fsyncFailures, _partitionChanges, _fetches;
    private long _pinnedTrims, _acceptsBelowFloor, _promisesRefused;
    private long _logServed, _checkpointsSent, _jumps, _staleLeaders;
    private long _sent, _dropped;

    public Simulation(SimConfig config, int seed)
    {
        _config = config;
        _seed = seed;
        _random = new Random(seed);
        _scheduler = new Scheduler(_clock);
        _memberIds = Enumerable.Range(1, config.Members).Select(i => (ushort)i).ToArray();
        _blocked = new bool[config.Members + 1, config.Members + 1];
        Nodes = _memberIds.Select(id => new SimNode(this, id)).ToArray();
        History.Quorum = config.Members / 2 + 1;
    }

    public SimNode[] Nodes { get; }

    /// <summary>SIM_TRACE=1: every message and fault, for debugging one replayed seed.</summary>
    public List<string>? TraceLog { get; } = Environment.GetEnvironmentVariable("SIM_TRACE") == "1" ? new() : null;

    public void Trace(string line) => TraceLog?.Add($"{_clock.NowMs,6} {line}");
    public History History { get; } = new();

    public static SimResult Run(SimConfig config, int seed) => new Simulation(config, seed).Run();

    public static SimResult Run(SimConfig config, int seed, out List<string>? trace)
    {
        var simulation = new Simulation(config, seed);
        var result = simulation.Run();
        trace = simulation.TraceLog;
        return result;
    }

    public SimResult Run()
    {
        foreach (var node in Nodes) StartNode(node);
        for (int p = 0; p < _config.Publishers; p++)
        {
            ulong producer = p < _config.AnonymousPublishers ? 0 : (ulong)(1000 + p);
            var publisher = new SimPublisher(p, producer, new Random(_seed * 31 + p), _config.RunsPerPublisher, _config.FaultMs, History)
            {
                Target = RandomMember(),
            };
            _publishers.Add(publisher);
            Every(20, () => publisher.Pump(this, _clock.NowMs));
        }
        for (int s = 0; s < _config.Subscribers; s++)
        {
            var subscriber = new SimSubscriber(s, RandomMember());
            _subscribers.Add(subscriber);
            Every(15, () => Disconnect(subscriber));
        }
        if (_config.CrashEveryMs > 0) _scheduler.After(Interval(_config.CrashEveryMs), CrashSomeone);
        if (_config.PartitionEveryMs > 0) _scheduler.After(Interval(_config.PartitionEveryMs), ChangePartitions);
        if (_config.OutageMs > 0) _scheduler.After(_config.OutageStartMs, StartOutage);
        try
        {
            RunUntil(_config.FaultMs);
            EndFaults();
            long deadline = _config.FaultMs + _config.LivenessMs;
            while (!AllDone() && _clock.NowMs < deadline) RunUntil(Math.Min(deadline, _clock.NowMs + 100));
            if (!AllDone() && _config.CheckLiveness) History.Fail(LivenessReport());
            History.Final(_publishers, _subscribers);
        }
        catch (StopRun)
        {
        }
        catch (Exception e) when (e is InvariantViolationException or WireException or InvalidOperationException)
        {
            History.Fail($"at {_clock.NowMs} ms: {e.GetType().Name}: {e.Message}");
        }
        return new SimResult(_config.Name, _seed, History.Violations, _scheduler.Executed, History.Global.Count, _clock.NowMs,
            $"{_crashes} crashes ({_fsyncFailures} failed fsyncs), {_partitionChanges} partition changes, {_sent} messages sent, {_dropped} dropped, "
            + $"{History.Ballots} ballots prepared, {History.Leaders} ballots led, {_fetches} fetches, "
            + $"floor paths: {PinnedTrims} pinned trims, {AcceptsBelowFloor} accepts below the floor, {PromisesRefused} promises refused; "
            + $"catch-up: {LogServed} values served from the log, {CheckpointsSent} checkpoints sent, {Jumps} jumps, {TrimmedSegments} log segments trimmed; "
            + $"{StaleLeaders} stale leaders stepped down (F1)",
            (PinnedTrims, AcceptsBelowFloor, PromisesRefused), (LogServed, CheckpointsSent, Jumps, TrimmedSegments, StaleLeaders));
    }

    private sealed class StopRun : Exception;

    // Floor-path counters of every incarnation: the ended ones (collected at their crash) plus the live ones.
    public long PinnedTrims => _pinnedTrims + Nodes.Sum(n => n.Core?.Floor.PinnedTrims ?? 0);
    public long AcceptsBelowFloor => _acceptsBelowFloor + Nodes.Sum(n => n.Core?.Floor.AcceptsBelowFloor ?? 0);
    public long PromisesRefused => _promisesRefused + Nodes.Sum(n => n.Core?.Floor.PromisesRefused ?? 0);
    public long LogServed => _logServed + Nodes.Sum(n => n.Core?.Catchup.LogServed ?? 0);
    public long CheckpointsSent => _checkpointsSent + Nodes.Sum(n => n.Core?.Catchup.CheckpointsSent ?? 0);
    public long Jumps => _jumps + Nodes.Sum(n => n.Core?.Catchup.Jumps ?? 0);
    public long TrimmedSegments => Nodes.Sum(n => n.Disk.TrimmedSegments);
    public long StaleLeaders => _staleLeaders + Nodes.Sum(n => n.Core?.Catchup.StaleLeaderStepDowns ?? 0);

    private void RunUntil(long untilMs)
    {
        while (_scheduler.RunNext(untilMs) && History.Violations.Count == 0) { }
        if (History.Violations.Count > 0) throw new StopRun();
    }

    private void Disconnect(SimSubscriber subscriber)
    {
        if (_faults && _random.Next(200) == 0) subscriber.Node = RandomMember();
        subscriber.Pump(this);
    }

    private bool AllDone() =>
        _publishers.All(p => p.Done) && Nodes.All(n => n.Core is { } core && core.NextPosition == History.Global.Count)
        && _subscribers.All(s => s.Next == History.Global.Count);

    private string LivenessReport() =>
        $"liveness: not done {_config.LivenessMs} ms after the faults stopped: global {History.Global.Count}; "
        + string.Join(", ", Nodes.Select(n => n.Core is { } c
            ? $"m{n.Id} {c.Role} next {c.NextInstance} pos {c.NextPosition} chosen {c.ChosenUpTo} promised {c.Promised}"
            : $"m{n.Id} down"))
        + "; publishers " + string.Join(", ", _publishers.Select(p => $"{p.Index}:{p.Runs.Count(r => r.Confirmed)}/{p.Runs.Count}"))
        + "; subscribers " + string.Join(", ", _subscribers.Select(s => $"{s.Index}:{s.Next}"));

    public ushort RandomMember() => _memberIds[_random.Next(_memberIds.Length)];

    private int Interval(int meanMs) => _random.Next(meanMs / 2, meanMs * 3 / 2 + 1);

    private void Every(int periodMs, Action action)
    {
        _scheduler.After(_random.Next(periodMs), Loop);
        void Loop()
        {
            action();
            _scheduler.After(periodMs, Loop);
        }
    }

    private void StartNode(SimNode node)
    {
        var recovered = node.Disk.Recover(_config.RetainedInstances);
        var options = new ConsensusOptions
        {
            NodeId = node.Id, Members = _memberIds, Window = _config.Window, BatchBytesMax = _config.BatchBytesMax,
            CheckpointEveryInstances = _config.CheckpointEvery, HeartbeatMs = 30, ElectionTimeoutMinMs = 150,
            ElectionTimeoutMaxMs = 300, RetransmitMs = 60, FetchTimeoutMs = 60, FetchCountMax = 16,
            PromiseChunkInstances = _config.PromiseChunkInstances, IntakeBytesMax = _config.IntakeBytesMax,
            RetainedInstances = _config.RetainedInstances,
        };
        var core = new Member(options, node.Disk, node, _clock, new Random(_seed * 7919 + node.Id * 131 + node.Incarnation), recovered);
        core.Switches.AcceptBelowPromise = _config.AcceptBelowPromise;
        core.Switches.AckBeforeDurable = _config.AckBeforeDurable;
        core.Switches.ReuseBallotAfterRestart = _config.ReuseBallotAfterRestart;
        core.Switches.DeliverUnchosen = _config.DeliverUnchosen;
        core.Switches.NoRetransmit = _config.NoRetransmit;
        core.Switches.PromiseOmitsVote = _config.PromiseOmitsVote;
        core.Switches.JumpDropsProducers = _config.JumpDropsProducers;
        History.CheckRestart(node.Id, core.Promised);
        Trace($"start m{node.Id} promised {core.Promised} next {core.NextInstance}");
        node.Start(core);
        int incarnation = node.Incarnation;
        _scheduler.After(_random.Next(TickMs), Tick);
        if (node.Disk.HasUnsynced) ScheduleSync(node);
        void Tick()
        {
            if (node.Incarnation != incarnation) return;
            core.Tick();
            _scheduler.After(TickMs, Tick);
        }
    }

    private void Crash(SimNode node)
    {
        if (!node.Up) return;
        Trace($"crash m{node.Id}");
        _crashes++;
        node.Core!.Halt();
        _pinnedTrims += node.Core.Floor.PinnedTrims;
        _acceptsBelowFloor += node.Core.Floor.AcceptsBelowFloor;
        _promisesRefused += node.Core.Floor.PromisesRefused;
        _logServed += node.Core.Catchup.LogServed;
        _checkpointsSent += node.Core.Catchup.CheckpointsSent;
        _jumps += node.Core.Catchup.Jumps;
        _staleLeaders += node.Core.Catchup.StaleLeaderStepDowns;
        node.Disk.Crash(_random, _config.TornWrites);
        node.Stop();
        if (_faults && node != _outageNode) _scheduler.After(_random.Next(20, 600), () => { if (!node.Up && node != _outageNode) StartNode(node); });
    }

    /// <summary>The long outage: one member (half the time the leader) is down, or cut off from every peer while it runs on,
    /// for <see cref="SimConfig.OutageMs"/>, far longer than its peers keep in memory or in their logs.</summary>
    private SimNode? _outageNode;

    private void StartOutage()
    {
        if (!_faults) return;
        var leader = Nodes.FirstOrDefault(n => n.Core is { IsLeader: true });
        var node = leader is not null && _random.Next(2) == 0 ? leader : Nodes[_random.Next(Nodes.Length)];
        bool down = _random.Next(2) == 0;
        Trace($"outage of m{node.Id} ({(down ? "down" : "partitioned")}) for {_config.OutageMs} ms");
        _outageNode = node;
        if (down) Crash(node);
        _scheduler.After(_config.OutageMs, EndOutage);
    }

    private void EndOutage()
    {
        var node = _outageNode;
        _outageNode = null;
        if (node is not null && !node.Up) StartNode(node);
    }

    /// <summary>A member cut off by the outage (while it runs) sends and receives nothing.</summary>
    private bool CutOff(ushort from, ushort to) => _outageNode is { } n && (n.Id == from || n.Id == to);

    private void CrashSomeone()
    {
        if (!_faults) return;
        // Half the crashes hit the leader: leader changes are where Paxos earns its keep.
        var leader = Nodes.FirstOrDefault(n => n.Core is { IsLeader: true });
        Crash(leader is not null && _random.Next(2) == 0 ? leader : Nodes[_random.Next(Nodes.Length)]);
        _scheduler.After(Interval(_config.CrashEveryMs), CrashSomeone);
    }

    private void ChangePartitions()
    {
        if (!_faults) return;
        int n = _config.Members;
        _partitionChanges++;
        int choice = _random.Next(_config.OneWayLinks ? 3 : 2);
        if (choice == 0) Array.Clear(_blocked);
        else if (choice == 1)
        {
            Array.Clear(_blocked);
            var side = _memberIds.Select(_ => _random.Next(2) == 0).ToArray();
            for (int a = 1; a <= n; a++)
                for (int b = 1; b <= n; b++)
                    _blocked[a, b] = side[a - 1] != side[b - 1];
        }
        else _blocked[_random.Next(1, n + 1), _random.Next(1, n + 1)] = true;
        _scheduler.After(Interval(_config.PartitionEveryMs), ChangePartitions);
    }

    private void EndFaults()
    {
        _faults = false;
        _outageNode = null;
        Array.Clear(_blocked);
        foreach (var node in Nodes)
            if (!node.Up) StartNode(node);
    }

    /// <summary>Group commit: one sync takes everything appended before it runs; a failed sync halts the member.</summary>
    public void ScheduleSync(SimNode node)
    {
        node.SyncScheduled = true;
        int incarnation = node.Incarnation;
        _scheduler.After(_random.Next(0, _config.FsyncDelayMaxMs + 1), () =>
        {
            if (node.Incarnation != incarnation || node.Core is not { } core) return;
            node.SyncScheduled = false;
            if (_faults && _random.NextDouble() < _config.FsyncFailureRate)
            {
                _fsyncFailures++;
                Crash(node);
                return;
            }
            long durable = node.Disk.Sync();
            // The node trims its log now and then (MemberHost.TrimAsync, from a status snapshot of the core); here right after
            // a sync, when everything is durable (the real trim record's sync makes everything before it durable too).
            if (_config.LogRetainRecords > 0) node.Disk.Trim(core.NextInstance, core.AcceptedFloor, _config.CheckpointEvery, _config.LogRetainRecords);
            core.Durable(durable);
        });
    }

    public void Transmit(ushort from, ushort to, Action<Member> deliver)
    {
        if (!Nodes[from - 1].Up) return; // the sender crashed earlier in this event
        _sent++;
        if (_faults && (_blocked[from, to] || CutOff(from, to) || _random.NextDouble() < _config.DropRate))
        {
            _dropped++;
            return;
        }
        int copies = _faults && _random.NextDouble() < _config.DuplicateRate ? 2 : 1;
        for (int i = 0; i < copies; i++)
            _scheduler.After(Delay(), () =>
            {
                if (Nodes[to - 1].Core is { } core) deliver(core);
            });
        // A crash between two effects of one event: the member dies right here, so the rest of the event's effects
        // (later sends, appends, deliveries, acks of the same handler) are lost with it.
        if (_faults && _random.NextDouble() < _config.CrashAfterSendRate) Crash(Nodes[from - 1]);
    }

    public void CountFetch() => _fetches++;

    private int Delay() => _faults && _random.NextDouble() < _config.LongDelayRate
        ? _random.Next(_config.DelayMaxMs, _config.LongDelayMaxMs + 1)
        : _random.Next(_config.DelayMinMs, _config.DelayMaxMs + 1);

    public void SendPublish(SimPublisher publisher, ushort target, PlannedRun run)
    {
        if (_faults && _random.NextDouble() < _config.DropRate) return;
        _scheduler.After(_random.Next(_config.DelayMinMs, _config.DelayMaxMs + 1), () =>
        {
            if (Nodes[target - 1].Core is not { } core) return;
            var bytes = BatchBuffer.CopyOf(run.Bytes);
            core.Publish(publisher.Index, new PublishMessage(publisher.ProducerId, run.FirstSeq, run.Count, bytes));
            bytes.Release();
        });
    }

    public void AckToPublisher(ushort from, int publisher, PublishAckMessage ack)
    {
        if (_faults && _random.NextDouble() < _config.DropRate) return;
        _scheduler.After(_random.Next(_config.DelayMinMs, _config.DelayMaxMs + 1),
            () => _publishers[publisher].OnAck(this, ack, _clock.NowMs));
    }
}
