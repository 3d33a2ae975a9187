using System.CommandLine;
using AtomicBcast.Node;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Cli.Commands;

/// <summary><c>abcast node --config FILE --id N</c>: runs member N in the foreground until SIGINT/SIGTERM or a halt.</summary>
internal static class NodeCommand
{
    /// <summary>The member halted (failed fsync, corrupt log, broken invariant): it stopped serving.</summary>
    public const int ExitHalted = 3;

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "cluster.json", Required = true };
        var id = new Option<int>("--id") { Description = "this member's id in the config", Required = true };
        var command = new Command("node", "run one cluster member in the foreground") { config, id };
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(id)));
        return command;
    }

    private static int Run(string configPath, int id)
    {
        var config = ClusterConfig.Load(configPath);
        var options = NodeOptions.FromConfig(config, id);
        using var loggers = CliSupport.StderrLoggers(LogLevel.Information);
        using var signal = CliSupport.OnStopSignal();
        var host = MemberHost.StartAsync(options, loggers).GetAwaiter().GetResult();
        try
        {
            host.Completion.WaitAsync(signal.Token).ContinueWith(_ => { }, TaskScheduler.Default).Wait();
        }
        finally
        {
            host.StopAsync().GetAwaiter().GetResult();
        }
        if (host.Completion.IsFaulted)
        {
            Console.Error.WriteLine($"abcast: {host.Completion.Exception!.InnerException!.Message}");
            return ExitHalted;
        }
        return 0;
    }
}
