using System.CommandLine;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Commands;

/// <summary><c>abcast cluster init --members 3 --base-port 7101 --dir DIR</c>: writes DIR/cluster.json for a loopback cluster.</summary>
internal static class ClusterInitCommand
{
    public static Command Create()
    {
        var members = new Option<int>("--members") { Description = "number of members", DefaultValueFactory = _ => 3 };
        var basePort = new Option<int>("--base-port") { Description = "port of member 1; member N listens on base-port + N - 1", DefaultValueFactory = _ => 7101 };
        var dir = new Option<string>("--dir") { Description = "directory for cluster.json and the members' data", Required = true };
        var clusterId = new Option<string>("--cluster-id") { Description = "cluster id named in every hello", DefaultValueFactory = _ => "local" };
        var force = new Option<bool>("--force") { Description = "overwrite an existing cluster.json" };

        var init = new Command("init", "write DIR/cluster.json for a cluster on loopback addresses") { members, basePort, dir, clusterId, force };
        init.SetAction(parse => Run(parse.GetValue(members), parse.GetValue(basePort), parse.GetValue(dir)!, parse.GetValue(clusterId)!, parse.GetValue(force)));

        return new Command("cluster", "cluster configuration") { init };
    }

    private static int Run(int memberCount, int basePort, string dir, string clusterId, bool force)
    {
        var config = ClusterConfig.CreateLocal(clusterId, memberCount, basePort);
        ClusterConfig.Parse(config.ToJson(), dir); // the same validation a node will apply
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "cluster.json");
        if (File.Exists(path) && !force)
            throw new ConfigException($"'{path}' already exists; pass --force to overwrite it");
        File.WriteAllText(path, config.ToJson() + "\n");
        Console.WriteLine($"wrote {path}: cluster '{clusterId}', {memberCount} members on 127.0.0.1:{basePort}..{basePort + memberCount - 1}");
        return 0;
    }
}
