using System.CommandLine;
using System.Reflection;

namespace AtomicBcast.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "abcast: AtomicBcast, a Multi-Paxos atomic broadcast service. " +
            "The node, demo, publish, subscribe, status and bench commands arrive with the node issue.");
        return root.Parse(args).Invoke();
    }

    internal static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}
