using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Node;

/// <summary>Status over the wire, answered from each member's snapshot. Timeouts are failure guards only.</summary>
public sealed class StatusTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static Task<StatusReplyMessage?> QueryAsync(LocalCluster cluster, ushort id, string clusterId = LocalCluster.ClusterId) =>
        StatusQuery.TryQueryAsync(new SubscriberOptions { ClusterId = clusterId, Members = cluster.Members, ConnectTimeout = TimeSpan.FromSeconds(2) }, id);

    [Fact]
    public async Task EveryMemberAnswersWithItsSnapshotAndAStoppedOneDoesNot()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        ushort leader = await cluster.WaitForLeaderAsync(Guard);
        await using (var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions()))
            for (int i = 0; i < 3; i++) await publisher.PublishAsync(Encoding.UTF8.GetBytes($"m{i}")).WaitAsync(Guard);
        await LocalCluster.WaitUntilAsync(() => cluster.Hosts.Values.All(h => h.Status.NextPosition == 3), Guard, "members did not deliver");

        // On a loaded machine a follower may briefly start an election (pre-vote) while the leader stays: ask until the
        // replies show the settled roles.
        var options = new SubscriberOptions { ClusterId = LocalCluster.ClusterId, Members = cluster.Members };
        IReadOnlyDictionary<ushort, StatusReplyMessage?> all = null!;
        await LocalCluster.WaitUntilAsync(() =>
        {
            all = StatusQuery.QueryAllAsync(options).GetAwaiter().GetResult();
            return all.All(p => p.Value is { } r && r.Role == (p.Key == leader ? MemberRole.Leader : MemberRole.Follower));
        }, Guard, "status replies show one leader and its followers");
        Assert.Equal(cluster.Hosts.Keys.Order(), all.Keys.Order());
        foreach (var (id, host) in cluster.Hosts)
        {
            var reply = all[id];
            Assert.NotNull(reply);
            var r = reply.Value;
            Assert.Equal(id, r.NodeId);
            Assert.Equal((3L, false, 0L), (r.NextPosition, r.Halted, r.EarliestPosition));
            Assert.True(r.LogBytes > 0 && r.ChosenUpTo >= 0 && r.Promised.Round > 0);
        }
        Assert.Equal([leader, leader], await AskTwiceOnOneConnectionAsync(cluster, leader));

        ushort follower = cluster.Hosts.Keys.First(id => id != leader);
        await using var kept = await StatusQuery.TryConnectAsync(
            new SubscriberOptions { ClusterId = LocalCluster.ClusterId, Members = cluster.Members, ConnectTimeout = TimeSpan.FromSeconds(2) }, follower);
        Assert.Equal(follower, (await kept!.TryQueryAsync())?.NodeId);
        await cluster.Hosts[follower].StopAsync();
        Assert.Null(await QueryAsync(cluster, follower));
        Assert.Null(await kept.TryQueryAsync()); // the kept connection ended with the member
    }

    /// <summary>Two requests on one connection, two replies (a monitor may keep its connection).</summary>
    private static async Task<ushort?[]> AskTwiceOnOneConnectionAsync(LocalCluster cluster, ushort id)
    {
        var options = new SubscriberOptions { ClusterId = LocalCluster.ClusterId, Members = cluster.Members, ConnectTimeout = Guard };
        await using var connection = await StatusQuery.TryConnectAsync(options, id);
        Assert.NotNull(connection);
        return [(await connection.TryQueryAsync())?.NodeId, (await connection.TryQueryAsync())?.NodeId];
    }

    [Fact]
    public async Task AClientOfAnotherClusterGetsNoStatus()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        Assert.Null(await QueryAsync(cluster, 1, "other-cluster"));
        Assert.NotNull(await QueryAsync(cluster, 1));
    }
}
