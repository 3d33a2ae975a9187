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
        var noSecret = new Option<bool>("--no-secret") { Description = "write no cluster secret (any process that speaks the protocol may join as a member)" };
        var tls = new Option<bool>("--tls") { Description = "generate a throwaway CA and a certificate per member in DIR/tls and require TLS" };

        var init = new Command("init", "write DIR/cluster.json for a cluster on loopback addresses, with a fresh cluster secret")
            { members, basePort, dir, clusterId, force, noSecret, tls };
        init.SetAction(parse => Run(parse.GetValue(members), parse.GetValue(basePort), parse.GetValue(dir)!, parse.GetValue(clusterId)!,
            parse.GetValue(force), !parse.GetValue(noSecret), parse.GetValue(tls)));

        return new Command("cluster", "cluster configuration") { init };
    }

    private static int Run(int memberCount, int basePort, string dir, string clusterId, bool force, bool secret, bool tls)
    {
        var config = ClusterConfig.CreateLocal(clusterId, memberCount, basePort);
        if (secret) config = config with { Secret = ClusterConfig.NewSecret() };
        var path = Path.Combine(dir, "cluster.json");
        if (File.Exists(path) && !force)
            throw new ConfigException($"'{path}' already exists; pass --force to overwrite it");
        Directory.CreateDirectory(dir);
        if (tls) config = LocalCertificates.Write(config, dir);
        ClusterConfig.Parse(config.ToJson(), dir); // the same validation a node will apply
        WritePrivate(path, config.ToJson() + "\n");
        Console.WriteLine($"wrote {path}: cluster '{clusterId}', {memberCount} members on 127.0.0.1:{basePort}..{basePort + memberCount - 1}"
            + (secret ? ", with a cluster secret" : "") + (tls ? ", TLS required (certificates in " + Path.Combine(dir, "tls") + ")" : ""));
        return 0;
    }

    /// <summary>The config holds the secret: readable by its owner only (where the OS has such modes).</summary>
    internal static void WritePrivate(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
