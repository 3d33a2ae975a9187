using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// The faults a scenario injects. Each one picks its targets with the run's seeded random, injects, holds for a
/// seeded time, heals, and records itself (kind, targets, start, heal). Holds are longer than the election timeout
/// (300-600 ms) so that leader faults do cause an election.
/// </summary>
internal sealed class Faults(Cluster cluster, RunClock clock, Random random, Func<long> lastCommitMs)
{
    private readonly List<FaultRecord> _faults = new();
    private readonly List<ExpectationRecord> _expectations = new();
    private readonly List<string> _notes = new();

    public IReadOnlyList<FaultRecord> Records => _faults;
    public IReadOnlyList<ExpectationRecord> Expectations => _expectations;

    /// <summary>What the run could not do (a step skipped because no leader was stable): reported, not a violation.</summary>
    public List<string> Notes => _notes;
    public Random Random => random;
    public RunClock Clock => clock;

    private Task HoldAsync(int minMs, int maxMs, CancellationToken ct) => Task.Delay(random.Next(minMs, maxMs), ct);

    private void Record(string kind, IEnumerable<int> targets, long start, string note = "")
    {
        _faults.Add(new FaultRecord(kind, string.Join('+', targets), start, clock.NowMs, note));
        // The same line in every member's log, to line the fault up with what the members logged.
        foreach (var m in cluster.Members.Values) m.Write($"{DateTime.Now.AddMilliseconds(start - clock.NowMs):HH:mm:ss.fff} === chaos: fault {kind} on {string.Join('+', targets)} injected at {start} ms (healed at {clock.NowMs} ms)");
    }

    private async Task<int?> LeaderAsync(string kind, CancellationToken ct)
    {
        // No stable leader (elections churning on an overloaded machine) is not a safety violation: skip the step, say so.
        var leader = await cluster.LeaderAsync(TimeSpan.FromSeconds(5), ct);
        if (leader is null) _notes.Add($"{kind} at {clock.NowMs} ms skipped: no leader named by a majority within 5 s");
        return leader;
    }

    private int[] Pick(int count, IEnumerable<int>? from = null) =>
        (from ?? cluster.Ids).OrderBy(_ => random.Next()).Take(count).Order().ToArray();

    private int Minority => (cluster.Ids.Length - 1) / 2;

    private void Restart(IEnumerable<int> ids)
    {
        foreach (var id in ids) cluster.Members[id].Start();
    }

    public async Task KillLeaderAsync(CancellationToken ct)
    {
        if (await LeaderAsync("kill-leader", ct) is not { } leader) return;
        long start = clock.NowMs;
        cluster.Members[leader].Kill();
        await HoldAsync(1500, 3500, ct);
        Restart([leader]);
        Record("kill-leader", [leader], start);
    }

    public async Task KillFollowerAsync(CancellationToken ct)
    {
        if (await LeaderAsync("kill-follower", ct) is not { } leader) return;
        var victims = Pick(Minority, cluster.Ids.Where(id => id != leader));
        long start = clock.NowMs;
        foreach (var id in victims) cluster.Members[id].Kill();
        await HoldAsync(1500, 3500, ct);
        Restart(victims);
        Record("kill-follower", victims, start);
    }

    public async Task KillMajorityAsync(CancellationToken ct)
    {
        var victims = Pick(cluster.Ids.Length / 2 + 1);
        long start = clock.NowMs;
        foreach (var id in victims) cluster.Members[id].Signal(Shell.SigKill);
        foreach (var id in victims) cluster.Members[id].WaitForExit(TimeSpan.FromSeconds(10));
        await HoldAsync(1500, 3500, ct);
        Restart(victims);
        Record("kill-majority", victims, start);
    }

    public async Task PauseLeaderAsync(CancellationToken ct)
    {
        if (await LeaderAsync("pause-leader", ct) is not { } leader) return;
        long start = clock.NowMs;
        cluster.Members[leader].Signal(Shell.SigStop);
        await HoldAsync(1500, 3500, ct);
        cluster.Members[leader].Signal(Shell.SigCont);
        Record("pause-leader", [leader], start);
    }

    public async Task IsolateLeaderAsync(CancellationToken ct)
    {
        if (await LeaderAsync("isolate-leader", ct) is not { } leader) return;
        long start = clock.NowMs;
        cluster.Firewall.Isolate([leader]);
        await HoldAsync(2500, 5000, ct);
        cluster.Firewall.Heal();
        Record("isolate-leader", [leader], start);
    }

    public async Task IsolateMinorityAsync(CancellationToken ct)
    {
        var side = Pick(Minority);
        long start = clock.NowMs;
        cluster.Firewall.Isolate(side);
        await HoldAsync(2500, 5000, ct);
        cluster.Firewall.Heal();
        Record("isolate-minority", side, start);
    }

    /// <summary>The leader's messages to the others are dropped, or theirs to it (seeded choice); the other way works.</summary>
    public async Task OneWayAsync(CancellationToken ct)
    {
        if (await LeaderAsync("one-way", ct) is not { } leader) return;
        bool outbound = random.Next(2) == 0;
        long start = clock.NowMs;
        foreach (var other in cluster.Ids.Where(id => id != leader))
            if (outbound) cluster.Firewall.Cut(leader, other);
            else cluster.Firewall.Cut(other, leader);
        await HoldAsync(2500, 5000, ct);
        cluster.Firewall.Heal();
        Record("one-way", [leader], start, outbound ? "leader's messages dropped" : "messages to the leader dropped");
    }

    /// <summary>Every 0.3-1.2 s a new random minority is isolated (or all heal) for 6-10 s.</summary>
    public async Task FlappingAsync(CancellationToken ct)
    {
        long start = clock.NowMs, until = start + random.Next(6000, 10_000);
        int flips = 0;
        while (clock.NowMs < until)
        {
            cluster.Firewall.Heal();
            if (random.Next(3) > 0) cluster.Firewall.Isolate(Pick(Math.Max(1, Minority)));
            flips++;
            await HoldAsync(300, 1200, ct);
        }
        cluster.Firewall.Heal();
        Record("flapping", cluster.Ids, start, $"{flips} flips");
    }

    public async Task LossAsync(CancellationToken ct)
    {
        int perMille = random.Next(50, 250);
        long start = clock.NowMs;
        cluster.Firewall.Loss(perMille);
        await HoldAsync(5000, 10_000, ct);
        cluster.Firewall.Heal();
        Record("packet-loss", cluster.Ids, start, $"{perMille / 10.0:0.#}% of packets between members dropped");
    }

    public async Task PowerCutOneAsync(CancellationToken ct)
    {
        var victim = Pick(1);
        long start = clock.NowMs;
        cluster.PowerCut(victim);
        await HoldAsync(500, 1500, ct);
        Restart(victim);
        Record("power-cut-one", victim, start);
    }

    public async Task PowerCutAllAsync(CancellationToken ct)
    {
        long start = clock.NowMs;
        cluster.PowerCut(cluster.Ids);
        await HoldAsync(500, 1500, ct);
        Restart(cluster.Ids);
        Record("power-cut-all", cluster.Ids, start);
    }

    /// <summary>
    /// Every fdatasync of one member (the leader or a follower, seeded) fails with EIO, injected by strace attached to all
    /// its threads: it must halt with exit code 3 within 10 s, and the others must go on committing. Then it restarts.
    /// </summary>
    public async Task FsyncErrorAsync(CancellationToken ct)
    {
        int victim = random.Next(2) == 0 && await cluster.LeaderAsync(TimeSpan.FromSeconds(5), ct) is { } leader ? leader : Pick(1)[0];
        var member = cluster.Members[victim];
        if (!member.Running) return;
        long start = clock.NowMs;
        member.ExpectExit = true;
        using var strace = StraceInjector.Attach(member.Pid);
        bool exited = member.WaitForExit(TimeSpan.FromSeconds(10));
        var exit = member.Exit;
        _expectations.Add(new ExpectationRecord($"fsync-eio@{start}: member {victim} halts with exit 3", exited && exit?.Code == 3,
            exited ? $"exited with {exit?.Code} after {exit?.AtMs - start} ms" : "still running 10 s after its fdatasync calls began to fail"));
        if (!exited) member.Kill();
        long halted = clock.NowMs;
        while (clock.NowMs < halted + 10_000 && lastCommitMs() <= halted) await Task.Delay(50, ct);
        _expectations.Add(new ExpectationRecord($"fsync-eio@{start}: the others go on", lastCommitMs() > halted,
            lastCommitMs() > halted ? $"commits resumed {lastCommitMs() - halted} ms after the halt" : "no commit within 10 s of the halt"));
        await HoldAsync(500, 1500, ct);
        Restart([victim]);
        Record("fsync-eio", [victim], start, exited ? $"exit {exit?.Code}" : "did not halt");
    }
}
