namespace AtomicBcast.Simulation;

/// <summary>One family of simulated runs. A run is (config, seed); everything else follows from the seed.</summary>
internal sealed record SimConfig
{
    public required string Name { get; init; }
    public int Members { get; init; } = 3;
    public double DropRate { get; init; }
    public double DuplicateRate { get; init; }
    public int DelayMinMs { get; init; } = 1;
    public int DelayMaxMs { get; init; } = 10;
    /// <summary>Share of messages held back much longer (stale messages arriving after leader changes).</summary>
    public double LongDelayRate { get; init; }
    public int LongDelayMaxMs { get; init; } = 400;
    /// <summary>Chance that a member crashes right after sending a message (crash between effects of one event).</summary>
    public double CrashAfterSendRate { get; init; }
    /// <summary>Mean time between partition changes during the fault phase (0: none).</summary>
    public int PartitionEveryMs { get; init; }
    public bool OneWayLinks { get; init; }
    /// <summary>Mean time between crashes during the fault phase (0: none).</summary>
    public int CrashEveryMs { get; init; }
    public bool TornWrites { get; init; }
    public double FsyncFailureRate { get; init; }
    public int FsyncDelayMaxMs { get; init; } = 5;
    public int FaultMs { get; init; } = 5000;
    public int LivenessMs { get; init; } = 8000;
    public int Publishers { get; init; } = 3;
    public int AnonymousPublishers { get; init; } = 1;
    public int RunsPerPublisher { get; init; } = 60;
    public int Subscribers { get; init; } = 2;
    public int Window { get; init; } = 8;
    public int BatchBytesMax { get; init; } = 2048;
    public int CheckpointEvery { get; init; } = 8;
    public int PromiseChunkInstances { get; init; } = 4;
    public long IntakeBytesMax { get; init; } = 1 << 20;
    public long RetainedInstances { get; init; } = 1 << 14;
    /// <summary>Records a member's log keeps when it trims (whole segments of SimDisk.SegmentRecords, under MemberHost's
    /// floor rule); 0: the log is never trimmed.</summary>
    public int LogRetainRecords { get; init; }
    /// <summary>A long outage of one member (down, or cut off while it runs on) starting at <see cref="OutageStartMs"/>; 0: none.</summary>
    public int OutageMs { get; init; }
    public int OutageStartMs { get; init; } = 500;
    /// <summary>Off only in negative-control settings that need it off.</summary>
    public bool CheckLiveness { get; init; } = true;
    /// <summary>Negative controls: what the caught violation must say (any one of these), so a control is caught by
    /// the check it targets and not by a side effect.</summary>
    public string[] ExpectedViolations { get; init; } = [];

    // Negative controls: deliberate bugs switched on in every member.
    public bool AcceptBelowPromise { get; init; }
    public bool AckBeforeDurable { get; init; }
    public bool ReuseBallotAfterRestart { get; init; }
    public bool DeliverUnchosen { get; init; }
    public bool NoRetransmit { get; init; }
    public bool PromiseOmitsVote { get; init; }
    public bool JumpDropsProducers { get; init; }

    public static readonly SimConfig Calm3 = new() { Name = "calm3", DropRate = 0.01, CrashEveryMs = 3000 };

    public static readonly SimConfig Faulty3 = new()
    {
        Name = "faulty3", DropRate = 0.05, DuplicateRate = 0.02, DelayMaxMs = 30, PartitionEveryMs = 500, OneWayLinks = true,
        CrashEveryMs = 400, TornWrites = true, FsyncFailureRate = 0.002, FsyncDelayMaxMs = 15,
        LongDelayRate = 0.02, CrashAfterSendRate = 0.0005,
    };

    public static readonly SimConfig Faulty5 = Faulty3 with { Name = "faulty5", Members = 5, Subscribers = 3 };

    public static readonly SimConfig Partitions5 = new()
    {
        Name = "partitions5", Members = 5, DropRate = 0.02, DelayMaxMs = 20, PartitionEveryMs = 200, OneWayLinks = true,
        CrashEveryMs = 1200, TornWrites = true, FsyncDelayMaxMs = 10, LongDelayRate = 0.05,
    };

    /// <summary>A small window and intake: the pipeline is full most of the time, batches grow, intake overflows.</summary>
    public static readonly SimConfig Loaded3 = Faulty3 with
    {
        Name = "loaded3", Window = 2, Publishers = 6, AnonymousPublishers = 2, RunsPerPublisher = 80, IntakeBytesMax = 600,
        BatchBytesMax = 600, PromiseChunkInstances = 1, CheckpointEvery = 3,
    };


    /// <summary>The floor paths (review T1): tiny in-memory retention, slow syncs (promises wait long for their sync while
    /// learners deliver), 5 members, and a long-delay tail (stale commit advertisements after leader changes).</summary>
    public static readonly SimConfig Trimmed5 = Faulty5 with
    {
        Name = "trimmed5", RetainedInstances = 6, FsyncDelayMaxMs = 80, LongDelayRate = 0.06, LongDelayMaxMs = 600,
        CrashEveryMs = 300, PromiseChunkInstances = 2,
    };

    /// <summary>Catch-up (learner state transfer and values served from the log): members keep 4 instances in memory and
    /// about 32 records in their logs, and one member is down or cut off for 2.5 s, far behind both; full liveness: it must
    /// catch up (by a jump to a peer's checkpoint, then fetches served from memory or logs) with identical positions.</summary>
    public static readonly SimConfig Catchup3 = Faulty3 with
    {
        Name = "catchup3", RetainedInstances = 4, CheckpointEvery = 4, LogRetainRecords = 32, OutageMs = 2500, OutageStartMs = 800,
        CrashEveryMs = 700,
    };

    /// <summary>Catch-up with 5 members (third review): quorum shapes where a member that jumped must still answer the
    /// leader usefully; longer outages and slow syncs; full liveness.</summary>
    public static readonly SimConfig Catchup5 = Faulty5 with
    {
        Name = "catchup5", RetainedInstances = 4, CheckpointEvery = 4, LogRetainRecords = 32, OutageMs = 2500, OutageStartMs = 800,
        CrashEveryMs = 500, FsyncDelayMaxMs = 40,
    };

    public static SimConfig ByName(string name) =>
        Sweep.Concat(NegativeControls).FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"unknown config {name}");

    /// <summary>Harsh faults so that a deliberate bug shows within few seeds.</summary>
    public static readonly SimConfig Harsh = Faulty3 with
    {
        Name = "harsh", CrashEveryMs = 250, FsyncDelayMaxMs = 40, PartitionEveryMs = 250, DropRate = 0.1, FsyncFailureRate = 0,
    };

    /// <summary>The sweep includes the negative controls' own fault settings without the bugs: a control counts as
    /// caught only because these pass.</summary>
    public static readonly SimConfig[] Sweep =
    [
        Calm3, Faulty3, Faulty5, Partitions5, Loaded3, Harsh,
        Faulty3 with { Name = "trimmed3", RetainedInstances = 12 },
        Trimmed5,
        Harsh with { Name = "harsh-slow-sync", FsyncDelayMaxMs = 120, CrashEveryMs = 150, CrashAfterSendRate = 0.002 },
        Catchup3,
        Catchup5,
    ];

    private const string Agreement = "agreement broken", PrefixChanged = "committed prefix changed", AckedLost = "not delivered there",
        ConfirmedLost = "confirmed run lost", TwoChosen = "two values chosen", NotChosen = "delivered a value that was not chosen";

    public static readonly SimConfig[] NegativeControls =
    [
        Harsh with { Name = "neg-accept-below-promise", AcceptBelowPromise = true, ExpectedViolations = ["accepted below its promise"] },
        // Needs a crash to lose an acked accept before its sync: slow syncs, frequent crashes.
        Harsh with
        {
            Name = "neg-ack-before-durable", AckBeforeDurable = true, FsyncDelayMaxMs = 120, CrashEveryMs = 150, CrashAfterSendRate = 0.002,
            ExpectedViolations = ["promise went down across a restart", TwoChosen, NotChosen, Agreement, PrefixChanged, AckedLost, ConfirmedLost],
        },
        Harsh with { Name = "neg-reuse-ballot", ReuseBallotAfterRestart = true, ExpectedViolations = ["ballot reused"] },
        Harsh with { Name = "neg-deliver-unchosen", DeliverUnchosen = true, ExpectedViolations = [NotChosen, Agreement, PrefixChanged, AckedLost, ConfirmedLost] },
        Harsh with { Name = "neg-no-retransmit", NoRetransmit = true, ExpectedViolations = ["liveness"] },
        // The review's S1 made systematic: every promise leaves out a vote. No per-message rule can see it; only the
        // checks across members (chosen values, agreement, the sequence, acked and confirmed messages) can.
        Harsh with { Name = "neg-promise-omits-vote", PromiseOmitsVote = true, ExpectedViolations = [TwoChosen, NotChosen, Agreement, PrefixChanged, AckedLost, ConfirmedLost] },
        // A jump that installs the checkpoint without its producer table: only later deliveries can show it (positions diverge).
        Catchup3 with { Name = "neg-jump-drops-producers", JumpDropsProducers = true, ExpectedViolations = [Agreement, PrefixChanged, AckedLost, ConfirmedLost] },
    ];
}
