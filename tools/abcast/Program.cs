using System.CommandLine;

namespace AtomicBcast.Cli;

public static class Program
{
    /// <summary>Exit code for bad input (unknown option, malformed argument): one line on stderr, never a stack trace.</summary>
    public const int ExitBadInput = 2;

    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "abcast: AtomicBcast, a Multi-Paxos atomic broadcast service. " +
            "The node, demo, publish, subscribe, status and bench commands arrive with the node issue.");
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"abcast: {error.Message}");
            Console.Error.WriteLine("abcast: try 'abcast --help'");
            return ExitBadInput;
        }
        return parsed.Invoke();
    }
}
