using System.CommandLine;
using AtomicBcast.Cli.Commands;
using AtomicBcast.Client;
using AtomicBcast.Node;
using AtomicBcast.Storage;

namespace AtomicBcast.Cli;

public static class Program
{
    /// <summary>Exit code for bad input (unknown option, malformed argument or config): one line on stderr, never a stack trace.</summary>
    public const int ExitBadInput = 2;

    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "abcast: AtomicBcast, a Multi-Paxos atomic broadcast service. Start with 'abcast demo'.")
        {
            ClusterInitCommand.Create(),
            NodeCommand.Create(),
            PublishCommand.Create(),
            SubscribeCommand.Create(),
            StatusCommand.Create(),
            DemoCommand.Create(),
            BenchCommand.Create(),
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
        catch (LogCorruptException e)
        {
            Console.Error.WriteLine($"abcast: {e.Message}; the member refuses to start (repair it from its peers)");
            return NodeCommand.ExitHalted;
        }
        catch (Exception e) when (e is LogFailedException or AtomicBcast.Consensus.InvariantViolationException)
        {
            // A failed write/sync at start, or recovered state that breaks a consensus invariant: the member must not serve.
            Console.Error.WriteLine($"abcast: {e.Message}; the member refuses to start");
            return NodeCommand.ExitHalted;
        }
        catch (PublishException e)
        {
            Console.Error.WriteLine($"abcast: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is ConfigException or DataDirectoryLockedException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"abcast: {e.Message}");
            return ExitBadInput;
        }
    }
}
