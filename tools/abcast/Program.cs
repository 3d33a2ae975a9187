using System.CommandLine;
using AtomicBcast.Cli.Commands;
using AtomicBcast.Node;

namespace AtomicBcast.Cli;

public static class Program
{
    /// <summary>Exit code for bad input (unknown option, malformed argument or config): one line on stderr, never a stack trace.</summary>
    public const int ExitBadInput = 2;

    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "abcast: AtomicBcast, a Multi-Paxos atomic broadcast service. " +
            "The node, demo, publish, subscribe, status and bench commands arrive with the node issue.")
        {
            ClusterInitCommand.Create(),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"abcast: {error.Message}");
            Console.Error.WriteLine("abcast: try 'abcast --help'");
            return ExitBadInput;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ConfigException or DataDirectoryLockedException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"abcast: {e.Message}");
            return ExitBadInput;
        }
    }
}
