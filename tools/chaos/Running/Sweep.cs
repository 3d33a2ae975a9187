using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AtomicBcast.Chaos.Reporting;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// Runs scenarios one after another, each in its own private network, mount and pid namespace
/// (<c>unshare --net --mount --pid --fork --kill-child --mount-proc</c>: its loopback, firewall rules, mounts and
/// processes vanish with it, even if the runner is killed). With --minutes it cycles through the list with seeds
/// S, S+1, ... until the time is up. Prints one line per run and a final "chaos: N passed, N failed"; writes
/// summary.md (faults, violations, the median time until commits resume after a leader kill).
/// </summary>
internal static class Sweep
{
    /// <summary>The CI sweep: six fault scenarios on 3 members and the negative control.</summary>
    public static readonly string[] CiScenarios =
        ["kill-leader", "pause-leader", "isolate-leader", "packet-loss", "power-cut-one", "fsync-eio", "control-nosync-power-cut-all"];

    public static async Task<int> RunAsync(Options o)
    {
        var names = o.Flag("--ci") ? CiScenarios
            : o.Get("--scenarios") is { } list ? list.Split(',', StringSplitOptions.RemoveEmptyEntries)
            : Scenario.All.Select(s => s.Name).ToArray();
        foreach (var n in names) Scenario.Named(n);   // fail fast on a typo
        int seed = o.Int("--seed", 1), duration = o.Int("--duration", 50);
        double minutes = o.Double("--minutes", 0);
        string outDir = Path.GetFullPath(o.Get("--out") ?? Path.Combine("artifacts", "chaos", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        string abcast = Path.GetFullPath(o.Required("--abcast"));
        Directory.CreateDirectory(outDir);
        var watch = Stopwatch.StartNew();
        var results = new List<(string Name, int Seed, int Code, string Dir)>();
        for (int i = 0; ; i++)
        {
            if (minutes <= 0 && i >= names.Length) break;
            if (minutes > 0 && watch.Elapsed.TotalMinutes >= minutes) break;
            string name = names[i % names.Length];
            int runSeed = seed + i;
            string dir = Path.Combine(outDir, $"{i + 1:000}-{name}-{runSeed}");
            int code = await RunOneAsync(name, runSeed, duration, abcast, dir);
            results.Add((name, runSeed, code, dir));
            Console.WriteLine($"chaos: {(code == 0 ? "PASS" : "FAIL")} {name} seed={runSeed} ({dir}/report.md){(code > 1 ? " [runner error, see runner.log]" : "")}");
        }
        WriteSummary(outDir, results.Select(r => r.Dir).ToList(), watch.Elapsed);
        int passed = results.Count(r => r.Code == 0), failed = results.Count - passed;
        Console.WriteLine($"chaos: summary in {outDir}/summary.md");
        Console.WriteLine($"chaos: {passed} passed, {failed} failed");
        return failed == 0 && passed > 0 ? 0 : 1;
    }

    private static async Task<int> RunOneAsync(string name, int seed, int duration, string abcast, string dir)
    {
        Directory.CreateDirectory(dir);
        var info = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--",
                     Environment.ProcessPath!, "scenario", name, "--seed", seed.ToString(CultureInfo.InvariantCulture),
                     "--duration", duration.ToString(CultureInfo.InvariantCulture), "--abcast", abcast, "--out", dir])
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        // Stopping the sweep stops the run: unshare's death kills its pid namespace (members, strace, mounts with it).
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => process.Kill());
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => process.Kill());
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(duration + 180));
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        await File.WriteAllTextAsync(Path.Combine(dir, "runner.log"), await output + await error);
        return process.ExitCode switch { 0 => 0, 1 => 1, _ => 2 };
    }

    private static void WriteSummary(string outDir, List<string> dirs, TimeSpan elapsed)
    {
        var ci = CultureInfo.InvariantCulture;
        var runs = dirs.Select(d => Path.Combine(d, "result.json")).Where(File.Exists)
            .Select(f => JsonSerializer.Deserialize<Summary>(File.ReadAllText(f), Summary.Json)!).ToList();
        var sb = new StringBuilder();
        sb.AppendLine(ci, $"# chaos sweep: {dirs.Count} runs in {elapsed.TotalMinutes:0.0} minutes");
        sb.AppendLine();
        sb.AppendLine("| scenario | seed | result | violated | faults | acked/published | commits/s before/during/after |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in runs)
            sb.AppendLine(ci, $"| {r.Scenario}{(r.Control ? " (control)" : "")} | {r.Seed} | {(r.Passed ? "PASS" : "FAIL")} | {string.Join(", ", r.Violated)} | {r.Faults.Length} | {r.Acked}/{r.Publishes} | {r.BeforePerSecond:0}/{r.DuringPerSecond:0}/{r.AfterPerSecond:0} |");
        int missing = dirs.Count - runs.Count;
        if (missing > 0) sb.AppendLine(ci, $"\n{missing} run(s) left no result (runner error): see their runner.log.");
        sb.AppendLine();
        sb.AppendLine("## Faults injected (real runs, not controls)");
        var faults = runs.Where(r => !r.Control).SelectMany(r => r.Faults).ToList();
        foreach (var g in faults.GroupBy(f => f.Kind).OrderBy(g => g.Key))
        {
            var outages = g.Select(f => f.OutageMs).Order().ToArray();
            sb.AppendLine(ci, $"- {g.Key}: {g.Count()}; commits stopped for median {Median(outages)} ms, max {outages[^1]} ms");
        }
        var kills = faults.Where(f => f.Kind == "kill-leader").Select(f => f.OutageMs).Order().ToArray();
        sb.AppendLine();
        sb.AppendLine(kills.Length == 0 ? "No leader kill in this sweep."
            : string.Create(ci, $"After killing the leader, commits resumed within median {Median(kills)} ms (p90 {kills[(int)(0.9 * (kills.Length - 1))]} ms, max {kills[^1]} ms, {kills.Length} kills); goal <= 1000 ms."));
        File.WriteAllText(Path.Combine(outDir, "summary.md"), sb.ToString());
    }

    private static long Median(long[] sorted) =>
        sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
