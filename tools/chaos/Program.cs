using System.Globalization;
using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;
using AtomicBcast.Chaos.Reporting;
using AtomicBcast.Chaos.Running;

namespace AtomicBcast.Chaos;

/// <summary>
/// chaos: fault-injection runs against real abcast processes, judged by the history checker (docs/RELIABILITY.md).
/// <code>
/// chaos sweep [--scenarios a,b|--ci] [--minutes M] [--seed S] [--duration SEC] [--out DIR] [--abcast PATH]
/// chaos scenario NAME --seed S --duration SEC --out DIR --abcast PATH   (inside unshare --net --mount --pid: the sweep does it)
/// chaos check DIR [--svg FILE]                                          (judge a saved history again; draw its timeline)
/// chaos list
/// </code>
/// Exit codes: 0 every run passed, 1 a run failed (a violation, or a control not flagged), 2 bad usage or a runner error.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            if (args.Length == 0) return Usage();
            var options = Options.Parse(args.Skip(1));
            return args[0] switch
            {
                "scenario" => await RunScenarioAsync(options),
                "sweep" => await Sweep.RunAsync(options),
                "check" => Check(options.Positional.Single(), options.Get("--svg")),
                "list" => List(),
                _ => Usage(),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"chaos: {e.Message}");
            return 2;
        }
    }

    private static async Task<int> RunScenarioAsync(Options o)
    {
        var scenario = Scenario.Named(o.Positional.Single());
        var run = new RunOptions(scenario, o.Int("--seed", 1), o.Int("--duration", 50), o.Required("--abcast"), o.Required("--out"));
        var result = await ScenarioRunner.RunAsync(run);
        Console.WriteLine(result.Passed ? "PASS" : "FAIL");
        return result.Passed ? 0 : 1;
    }

    private static int Check(string dir, string? svg)
    {
        var history = HistoryFiles.Load(dir);
        var verdicts = Checker.Check(history);
        foreach (var v in verdicts)
        {
            Console.WriteLine($"{v.Property}: {(v.Ok ? "ok" : $"VIOLATED ({v.Violations})")}");
            foreach (var e in v.Examples) Console.WriteLine($"  {e}");
        }
        var a = AvailabilityReport.Compute(history);
        foreach (var o in a.Outages) Console.WriteLine($"fault {o.Fault.Kind} {o.Fault.Targets} at {o.Fault.StartMs} ms: commits stopped for {o.OutageMs} ms");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"commits/s: before {a.BeforePerSecond:0}, during {a.DuringPerSecond:0}, after {a.AfterPerSecond:0}"));
        if (svg is not null) Timeline.Write(svg, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), 0, history, a);
        return verdicts.All(v => v.Ok) ? 0 : 1;
    }

    private static int List()
    {
        foreach (var s in Scenario.All) Console.WriteLine($"{s.Name,-30} {s.Members} members  {s.Description}");
        return 0;
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: chaos sweep [--scenarios a,b|--ci] [--minutes M] [--seed S] [--duration SEC] [--out DIR] [--abcast PATH]");
        Console.Error.WriteLine("       chaos check DIR | chaos list");
        return 2;
    }
}
