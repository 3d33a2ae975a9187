using System.CommandLine;
using AtomicBcast.Node;
using AtomicBcast.Storage;
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
        var noSync = new Option<bool>("--unsafe-no-sync")
        {
            Description = "UNSAFE, for tests only: acknowledge log writes without fdatasync (a power cut loses acknowledged messages)",
        };
        var command = new Command("node", "run one cluster member in the foreground") { config, id, noSync };
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(id), parse.GetValue(noSync)));
        return command;
    }

    private static int Run(string configPath, int id, bool unsafeNoSync)
    {
        var config = ClusterConfig.Load(configPath);
        var options = NodeOptions.FromConfig(config, id);
        using var loggers = CliSupport.StderrLoggers(LogLevel.Information);
        if (unsafeNoSync)
        {
            // The chaos negative control runs members this way to prove its checker catches lost acknowledged messages.
            options = WithoutSync(options);
            loggers.CreateLogger("AtomicBcast.Cli.Node").LogWarning(
                "UNSAFE: --unsafe-no-sync: member {Id} acknowledges log writes WITHOUT fdatasync; a power cut or kernel crash " +
                "loses acknowledged messages and breaks consensus. Never use this outside tests.", id);
        }
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

    /// <summary>The same member with <see cref="DurabilityMode.UnsafeNoSync"/> (NodeOptions is init-only: copy what FromConfig sets).</summary>
    private static NodeOptions WithoutSync(NodeOptions o) => new()
    {
        ClusterId = o.ClusterId,
        NodeId = o.NodeId,
        Members = o.Members,
        DataDirectory = o.DataDirectory,
        Durability = DurabilityMode.UnsafeNoSync,
    };
}
