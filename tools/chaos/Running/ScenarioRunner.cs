using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;
using AtomicBcast.Chaos.Reporting;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// Runs one scenario inside the caller's private network and mount namespace: starts the members, the subscribers
/// and publishers, injects the scenario's faults on its seeded schedule through the fault window, heals, stops
/// publishing, drains (audit subscribers read everything the cluster holds), stops the members, and judges.
/// Timeline for a run of D seconds: publish from 0; faults from 6 s to D-14 s; heal; stop publishing at D-6 s; drain.
/// </summary>
internal static class ScenarioRunner
{
    private const long WarmupMs = 6_000, HealBeforeEndMs = 14_000, StopBeforeEndMs = 6_000, StepRoomMs = 5_000;

    public static async Task<RunResult> RunAsync(RunOptions o)
    {
        Directory.CreateDirectory(o.OutDir);
        var clock = new RunClock();
        var random = new Random(o.Seed);
        var cluster = new Cluster(o.OutDir, o.Scenario.Members, o.Abcast, o.Scenario.Disks, o.Scenario.UnsafeNoSync, clock);
        var expectations = new List<ExpectationRecord>();
        var publishers = new List<PublisherWorkload>();
        var subscribers = new List<SubscriberWorkload>();
        Faults? faults = null;
        Phases phases;
        try
        {
            cluster.Firewall.Install();
            cluster.StartAll();
            var notes = new List<string>();
            if (await cluster.LeaderAsync(TimeSpan.FromSeconds(30), CancellationToken.None) is null)
                notes.Add("no leader named by a majority within 30 s of the start; publishing anyway");
            foreach (var id in cluster.Ids) subscribers.Add(new SubscriberWorkload($"live-{id}", id, false, cluster, clock));
            foreach (var s in subscribers) s.Start();
            for (int p = 1; p <= o.Publishers; p++)
                publishers.Add(new PublisherWorkload(p, cluster, clock, o.PerSecond, 2_000, o.Seed));
            foreach (var p in publishers) await p.StartAsync(CancellationToken.None);
            long t0 = clock.NowMs;
            long end = t0 + o.DurationSeconds * 1000L;
            phases = new Phases(t0, t0 + WarmupMs, end - HealBeforeEndMs, end - StopBeforeEndMs, 0);
            faults = new Faults(cluster, clock, random, () => publishers.Count == 0 ? 0 : publishers.Max(p => p.LastCommitMs));
            faults.Notes.AddRange(notes);
            await InjectAsync(o.Scenario, faults, clock, phases);
            await HealAsync(cluster, clock, phases.HealMs);
            await clock.UntilAsync(phases.PublishStopMs);
            foreach (var p in publishers) await p.StopPublishingAsync();
            await WaitAsync(clock, 20_000, () => publishers.All(p => p.Outstanding == 0));
            var publishes = new List<PublishRecord>();
            foreach (var p in publishers) publishes.AddRange(await p.FinishAsync());
            foreach (var id in cluster.Ids) subscribers.Add(new SubscriberWorkload($"audit-{id}", id, true, cluster, clock));
            foreach (var s in subscribers.Where(s => s.IsAudit)) s.Start();
            long target = publishes.Where(p => p.Outcome == Outcome.Acked).Select(p => p.Position + 1).DefaultIfEmpty(0).Max();
            await DrainAsync(clock, subscribers, target);
            var streams = new List<StreamRecord>();
            foreach (var s in subscribers) streams.Add(await s.StopAsync());
            phases = phases with { EndMs = clock.NowMs };
            long streamsEnd = streams.Select(s => s.End).DefaultIfEmpty(0).Max();
            expectations.AddRange(await MembersCaughtUpAsync(cluster, clock, streamsEnd));
            string delivered = cluster.DeliveredPositions();
            cluster.Dispose();
            foreach (var m in cluster.Members.Values)
                foreach (var (code, at) in m.UnexpectedExits)
                    expectations.Add(new ExpectationRecord($"member {m.Id}", false, $"exited unexpectedly with {code} at {at} ms (see member-{m.Id}.log)"));
            expectations.AddRange(faults.Expectations);
            var history = new RunHistory(publishes, streams, faults.Records, expectations, phases);
            HistoryFiles.Save(o.OutDir, history);
            File.WriteAllLines(Path.Combine(o.OutDir, "notes.txt"), faults.Notes);
            var result = Judge(o, history, delivered, faults.Notes);
            if (result.Passed) // the disk images (hundreds of MB each) are kept only for a run that needs a post-mortem
                foreach (var image in Directory.GetFiles(o.OutDir, "disk-*.img")) File.Delete(image);
            return result;
        }
        finally
        {
            foreach (var s in subscribers) await s.StopAsync();
            cluster.Dispose();
        }
    }

    /// <summary>Repeats the scenario's steps (a seeded choice each time, after a seeded pause) until the fault window closes.</summary>
    private static async Task InjectAsync(Scenario scenario, Faults faults, RunClock clock, Phases phases)
    {
        await clock.UntilAsync(phases.FaultsStartMs);
        while (clock.NowMs + StepRoomMs < phases.HealMs)
        {
            var step = scenario.Steps[faults.Random.Next(scenario.Steps.Length)];
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await step(faults, guard.Token);
            await Task.Delay(faults.Random.Next(1500, 3000));
        }
    }

    private static async Task HealAsync(Cluster cluster, RunClock clock, long healMs)
    {
        await clock.UntilAsync(healMs);
        cluster.Firewall.Heal();
        foreach (var m in cluster.Members.Values)
        {
            if (m.Paused) m.Signal(Shell.SigCont);
            if (!m.Running) m.Start();
        }
    }

    /// <summary>Waits until every subscriber reached the same position, at least past every acknowledged one, for 1 s; at most 30 s.</summary>
    private static async Task DrainAsync(RunClock clock, List<SubscriberWorkload> subscribers, long target)
    {
        long stableSince = -1, until = clock.NowMs + 30_000;
        while (clock.NowMs < until)
        {
            var ends = subscribers.Select(s => s.Next).ToArray();
            bool settled = ends.All(e => e == ends[0]) && ends[0] >= target;
            if (!settled) stableSince = -1;
            else if (stableSince < 0) stableSince = clock.NowMs;
            else if (clock.NowMs - stableSince >= 1_000) return;
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Uniform agreement on the members themselves: after the drain every member (their status files, rewritten every
    /// second) delivered up to where the streams ended; a subscriber on a lagging member would only wait, not fail over.
    /// </summary>
    private static async Task<List<ExpectationRecord>> MembersCaughtUpAsync(Cluster cluster, RunClock clock, long end)
    {
        var positions = new Dictionary<int, long>();
        long until = clock.NowMs + 5_000;
        while (true)
        {
            foreach (var id in cluster.Ids) positions[id] = cluster.DeliveredPosition(id);
            if (positions.Values.All(p => p >= end) || clock.NowMs >= until) break;
            await Task.Delay(200);
        }
        return positions.Where(kv => kv.Value != end)
            .Select(kv => new ExpectationRecord($"member {kv.Key} caught up", false,
                $"member {kv.Key} delivered up to {kv.Value} at the end, the streams reached {end}")).ToList();
    }

    private static async Task WaitAsync(RunClock clock, long ms, Func<bool> done)
    {
        long until = clock.NowMs + ms;
        while (!done() && clock.NowMs < until) await Task.Delay(50);
    }

    private static RunResult Judge(RunOptions o, RunHistory history, string delivered, IReadOnlyList<string> notes)
    {
        var verdicts = Checker.Check(history);
        var availability = AvailabilityReport.Compute(history);
        bool violations = verdicts.Any(v => !v.Ok);
        bool lostAcked = verdicts.Any(v => v.Property == "acked-durable" && !v.Ok);
        bool passed = o.Scenario.IsControl ? lostAcked : !violations;
        var result = new RunResult(o.Scenario.Name, o.Seed, o.Scenario.IsControl, passed, verdicts, availability, history, delivered, notes);
        RunReport.Write(o.OutDir, o.Scenario, result);
        Timeline.Write(Path.Combine(o.OutDir, "timeline.svg"), o.Scenario.Name, o.Seed, history, availability);
        return result;
    }
}
