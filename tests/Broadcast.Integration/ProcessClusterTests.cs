using System.Text;
using AtomicBcast.Client;

namespace AtomicBcast.Integration;

/// <summary>Real `abcast node` processes on loopback. Timeouts are failure guards only.</summary>
public sealed class ProcessClusterTests
{
    [Fact]
    public async Task KillNineTheLeaderWhilePublishingThenRestartIt()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync();
        const int total = 2003;
        // Reads from the member about to be killed: it must resume elsewhere without gap or duplicate.
        var onLeader = Task.Run(() => cluster.ReadAsync(leader, 0, total));
        await using var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions());
        const int count = 2000;
        var acks = Enumerable.Range(0, count).Select(async i =>
        {
            string text = $"m{i}";
            return (Text: text, Position: await publisher.PublishAsync(Encoding.UTF8.GetBytes(text)));
        }).ToArray();
        await acks[count / 10];
        cluster.Kill9(leader);
        var acked = await Task.WhenAll(acks).WaitAsync(ProcessCluster.Guard);
        // One publisher, calls in order: FIFO; every position known and distinct.
        Assert.Equal(acked.Select(a => a.Position).Order(), acked.Select(a => a.Position));
        Assert.Equal(count, acked.Select(a => a.Position).Distinct().Count());

        cluster.StartNode(leader);
        // `abcast publish` too: one line per ack, in input order, position TAB line.
        var (code, output, error) = await ProcessCluster.RunAsync($"publish --config {cluster.ConfigPath}", "x1\nx2\nx3\n");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToArray();
        Assert.Equal(["x1", "x2", "x3"], lines.Select(l => l[1]));
        Assert.Equal(Enumerable.Range(count, 3).Select(p => p.ToString()), lines.Select(l => l[0]));

        Assert.Equal(count + 3, total);
        // The restarted member serves from 0 itself: below the checkpoint it recovered from, out of its log.
        await cluster.WaitForDeliveredAsync(leader, total);
        var streams = new List<List<(long Position, string Text)>>();
        foreach (var member in new[] { leader, leader % 3 + 1, (leader + 1) % 3 + 1 })
            streams.Add(await cluster.ReadAsync(member, 0, total, onlyPreferred: true));
        foreach (var stream in streams)
        {
            Assert.Equal(Enumerable.Range(0, total).Select(p => (long)p), stream.Select(s => s.Position));
            Assert.Equal(streams[0].Select(s => s.Text), stream.Select(s => s.Text));
            Assert.Equal(total, stream.Select(s => s.Text).Distinct().Count());
        }
        var resumed = await onLeader.WaitAsync(ProcessCluster.Guard);
        Assert.Equal(streams[0], resumed);
        foreach (var (text, position) in acked) Assert.Equal(text, streams[0][(int)position].Text);
        // From the middle.
        var middle = await cluster.ReadAsync(leader % 3 + 1, 1000, 10);
        Assert.Equal(streams[0].Skip(1000).Take(10), middle);
    }

    [Fact]
    public async Task ASecondNodeOnTheSameDataDirectoryAndBadInputExitWithCode2()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        var (code, _, error) = await ProcessCluster.RunAsync($"node --config {cluster.ConfigPath} --id 1");
        Assert.Equal(2, code);
        Assert.Contains("locked by pid", error);
        Assert.Single(error.Trim().Split('\n'));

        var bad = Path.Combine(cluster.Root, "bad.json");
        await File.WriteAllTextAsync(bad, "{ \"clusterId\": \"x\", \"members\": [ { \"id\": 1, \"address\": \"nope\", \"dataDir\": \"d\" } ] }");
        (code, _, error) = await ProcessCluster.RunAsync($"node --config {bad} --id 1");
        Assert.Equal(2, code);
        Assert.Contains("not host:port", error);
        (code, _, error) = await ProcessCluster.RunAsync($"node --config {cluster.ConfigPath} --id 7");
        Assert.Equal(2, code);
        Assert.Contains("no member with id 7", error);
        (code, _, _) = await ProcessCluster.RunAsync("publish --bogus");
        Assert.Equal(2, code);
    }

    [Fact]
    public async Task StatusAsksEveryMemberOverTheWireAndShowsAKilledOneUnreachable()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        int leader = await cluster.WaitForLeaderAsync();
        await using (var publisher = await Publisher.ConnectAsync(cluster.PublisherOptions()))
            for (int i = 0; i < 5; i++) await publisher.PublishAsync(Encoding.UTF8.GetBytes($"s{i}")).WaitAsync(ProcessCluster.Guard);
        foreach (var m in cluster.Config.Members) await cluster.WaitForDeliveredAsync(m.Id, 5);

        var members = await StatusJsonAsync(cluster);
        Assert.Equal([1, 2, 3], members.Select(m => (int)m["id"]!));
        Assert.All(members, m => Assert.True((bool)m["reachable"]!));
        Assert.Equal(leader, members.Single(m => (string?)m["role"] == "leader")["id"]!.GetValue<int>());
        Assert.All(members, m => Assert.Equal(5, (long)m["deliveredPosition"]!));
        Assert.All(members, m => Assert.True((long)m["logBytes"]! > 0));
        Assert.All(members, m => Assert.Equal(cluster.Config.Member((int)m["id"]!).Address, (string?)m["address"]));
        // Each member's own process figures: it has run, allocated and holds memory (three processes, three readings).
        Assert.All(members, m => Assert.True((long)m["process"]!["cpuMs"]! > 0 && (long)m["process"]!["allocatedBytes"]! > 0
            && (long)m["process"]!["workingSetBytes"]! > 0 && (long)m["process"]!["gen2"]! >= 0));
        // Each member synced its log at least once for the 5 messages, and the buckets add up to the count.
        Assert.All(members, m =>
        {
            var sync = m["logSync"]!;
            long count = (long)sync["count"]!;
            Assert.True(count > 0 && (long)sync["slowestMicros"]! > 0 && (long)sync["p50AtMostMicros"]! > 0);
            Assert.Equal(count, sync["buckets"]!.AsArray().Sum(b => (long)b!["count"]!));
        });

        int follower = leader % 3 + 1;
        cluster.Kill9(follower);
        members = await StatusJsonAsync(cluster);
        var killed = members.Single(m => (int)m["id"]! == follower);
        Assert.False((bool)killed["reachable"]!);
        Assert.Null(killed["role"]);
        Assert.Equal(2, members.Count(m => (bool)m["reachable"]!));
        var (code, table, error) = await ProcessCluster.RunAsync($"status --config {cluster.ConfigPath}");
        Assert.True(code == 0, error);
        var row = table.Split('\n').Single(l => l.StartsWith($"{follower} ", StringComparison.Ordinal));
        Assert.Contains(" no ", row);
    }

    private static async Task<List<System.Text.Json.Nodes.JsonNode>> StatusJsonAsync(ProcessCluster cluster)
    {
        var (code, output, error) = await ProcessCluster.RunAsync($"status --config {cluster.ConfigPath} --json");
        Assert.True(code == 0, error);
        return System.Text.Json.Nodes.JsonNode.Parse(output)!["members"]!.AsArray().Select(m => m!).ToList();
    }
}
