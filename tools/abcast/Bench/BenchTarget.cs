using AtomicBcast.Client;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Bench;

/// <summary>The cluster a run loads: how to reach it and who leads.</summary>
internal sealed record BenchTarget(string Mode, bool Sync, IReadOnlyList<ushort> MemberIds, Func<PublisherOptions> Publisher,
    Func<ushort, SubscriberOptions> Subscriber, Func<string> Leader)
{
    public static BenchTarget Of(EmbeddedCluster cluster, bool sync, int pendingMessagesMax, int windowRuns) => new("embedded", sync,
        cluster.Members.Keys.ToArray(), () => cluster.PublisherOptions(pendingMessagesMax, windowRuns), cluster.SubscriberOptions, () => cluster.Leader?.ToString() ?? "-");

    /// <summary>A running cluster; sync is what its members default to (the bench cannot see their setting).</summary>
    public static BenchTarget Of(ClusterConfig config, int pendingMessagesMax, int windowRuns) => new("cluster", true, config.Members.Select(m => (ushort)m.Id).ToArray(),
        () => new PublisherOptions
        {
            ClusterId = config.ClusterId, Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
            PendingMessagesMax = pendingMessagesMax, WindowRuns = windowRuns,
        },
        id => Commands.CliSupport.SubscriberOptions(config, id), () => LeaderFromStatusFiles(config));

    private static string LeaderFromStatusFiles(ClusterConfig config)
    {
        foreach (var m in config.Members)
            if (StatusFile.TryRead(m.DataDir) is { Role: "leader" } s && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - s.UpdatedUnixMs < 3000)
                return m.Id.ToString();
        return "-";
    }
}
