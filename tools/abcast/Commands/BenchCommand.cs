using System.CommandLine;
using AtomicBcast.Cli.Bench;

namespace AtomicBcast.Cli.Commands;

/// <summary>
/// <c>abcast bench (--config FILE | --embedded [--no-sync]) [--size B] [--publishers P] [--window W] [--rate R] [--seconds S]
/// [--warmup S] [--subscribers N] [--json FILE] [--timeline FILE]</c>: loads a cluster and reports delivered throughput,
/// publish-to-ack and publish-to-delivery latency (HdrHistogram), CPU and GC figures. Exit 0 when every acknowledged message reached every
/// subscriber, 1 when not, 2 on bad input.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "cluster.json of a running cluster" };
        var embedded = new Option<bool>("--embedded") { Description = "run 3 members in this process (loopback TCP, durable logs in a temp dir)" };
        var noSync = new Option<bool>("--no-sync") { Description = "UNSAFE, embedded only: members skip fdatasync (measures all but the disk)" };
        var size = new Option<int>("--size") { Description = "bytes per message (>= 16: timestamp and tag)", DefaultValueFactory = _ => 64 };
        var publishers = new Option<int>("--publishers") { Description = "publishers (each its own connection and producer id)", DefaultValueFactory = _ => 1 };
        var window = new Option<int>("--window") { Description = "messages in flight per publisher", DefaultValueFactory = _ => 4096 };
        var rate = new Option<double?>("--rate") { Description = "open loop: messages/s over all publishers (default: closed loop)" };
        var seconds = new Option<double>("--seconds") { Description = "measured seconds", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "seconds of load before measuring", DefaultValueFactory = _ => 2 };
        var subscribers = new Option<int>("--subscribers") { Description = "subscribers (spread over the members)", DefaultValueFactory = _ => 1 };
        var json = new Option<string?>("--json") { Description = "also write the result as JSON to FILE" };
        var timeline = new Option<string?>("--timeline")
        {
            Description = "also write, per millisecond of the measured window, the acks of the messages due then and the slowest (CSV: ms,acked,slowestAckMs)",
        };
        var command = new Command("bench", "load a cluster (running or embedded) and report throughput, latency, CPU and GC")
        {
            config, embedded, noSync, size, publishers, window, rate, seconds, warmup, subscribers, json, timeline,
        };
        command.SetAction(parse => Run(new BenchOptions
        {
            ConfigPath = parse.GetValue(config), Embedded = parse.GetValue(embedded), NoSync = parse.GetValue(noSync),
            Size = parse.GetValue(size), Publishers = parse.GetValue(publishers), Window = parse.GetValue(window), Rate = parse.GetValue(rate),
            Seconds = parse.GetValue(seconds), Warmup = parse.GetValue(warmup), Subscribers = parse.GetValue(subscribers),
            JsonPath = parse.GetValue(json), TimelinePath = parse.GetValue(timeline),
        }));
        return command;
    }

    private static int Run(BenchOptions options)
    {
        options.Validate();
        using var signal = CliSupport.OnStopSignal();
        BenchReport report;
        try
        {
            report = BenchRunner.RunAsync(options, Console.Out, signal.Token).GetAwaiter().GetResult();
        }
        catch (BenchAbortedException e)
        {
            Console.Error.WriteLine($"abcast: bench: {e.Message}");
            return 1;
        }
        report.Print(Console.Out);
        if (options.JsonPath is { } path) File.WriteAllText(path, report.ToJson() + "\n");
        return report.AllDelivered ? 0 : 1;
    }
}
