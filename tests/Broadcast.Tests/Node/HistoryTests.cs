using System.Text;
using AtomicBcast.Client;
using AtomicBcast.Consensus;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// Subscribers served from the log below the delivery ring's floor: the same positions and payloads as from the ring
/// (runs skipped as duplicates included), after a restart, below the trimmed log, and for a slow subscriber. Real members
/// in this process; timeouts are failure guards only.
/// </summary>
public sealed class HistoryTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private const ulong Producer = 42;

    /// <summary>Checkpoints every 4 instances, so replays cross many of them and start from one.</summary>
    private static ConsensusOptions SmallCheckpoints(ConsensusOptions c) => new()
    {
        NodeId = c.NodeId, Members = c.Members, CheckpointEveryInstances = 4, RetainedInstances = 8,
    };

    private static PublisherOptions Options(LocalCluster cluster, ulong? producer) =>
        new() { ClusterId = LocalCluster.ClusterId, Members = cluster.Members, ProducerId = producer };

    /// <summary>
    /// Producer 42 publishes a0..a29, a second publisher under the same id replays seqs 1..10 (skipped as duplicates),
    /// anonymous messages go in between, then producer 42 goes on. Returns every delivered payload by its acked position.
    /// </summary>
    private static async Task<Dictionary<long, string>> PublishWithDuplicatesAsync(LocalCluster cluster, int size = 8)
    {
        var acked = new Dictionary<long, string>();
        string Pad(string text) => text.PadRight(size, '.');
        await using var first = await Publisher.ConnectAsync(Options(cluster, Producer));
        for (int i = 0; i < 30; i++) acked[await first.PublishAsync(Encoding.UTF8.GetBytes(Pad($"a{i}"))).WaitAsync(Guard)] = Pad($"a{i}");
        await using (var again = await Publisher.ConnectAsync(Options(cluster, Producer)))
            for (int i = 0; i < 10; i++)
            {
                // A duplicate: skipped at delivery; answered with the first attempt's position when the leader finds it.
                long position = await again.PublishAsync(Encoding.UTF8.GetBytes(Pad($"dup{i}"))).WaitAsync(Guard);
                Assert.True(position == Publisher.PositionUnknown || acked[position] == Pad($"a{i}"), $"dup{i} at {position}");
            }
        await using var anonymous = await Publisher.ConnectAsync(Options(cluster, 0));
        for (int i = 0; i < 20; i++)
        {
            acked[await anonymous.PublishAsync(Encoding.UTF8.GetBytes(Pad($"n{i}"))).WaitAsync(Guard)] = Pad($"n{i}");
            acked[await first.PublishAsync(Encoding.UTF8.GetBytes(Pad($"a{30 + i}"))).WaitAsync(Guard)] = Pad($"a{30 + i}");
        }
        Assert.Equal(Enumerable.Range(0, acked.Count).Select(i => (long)i), acked.Keys.Order());
        return acked;
    }

    /// <summary>Reads <paramref name="count"/> messages from <paramref name="from"/> on member <paramref name="member"/>, and
    /// checks that member served them all without a reconnect (a gap makes the client reconnect).</summary>
    private static async Task<List<(long Position, string Payload)>> ReadAsync(LocalCluster cluster, ushort member, long from, int count)
    {
        await using var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(member));
        var stream = new List<(long, string)>();
        using var guard = new CancellationTokenSource(Guard);
        await foreach (var d in subscriber.ReadAllAsync(from, guard.Token))
        {
            stream.Add((d.Position, Encoding.UTF8.GetString(d.Payload.Span)));
            if (stream.Count == count) break;
        }
        Assert.Equal(member, subscriber.CurrentMember);
        Assert.Equal(0, subscriber.Reconnects);
        return stream;
    }

    private static List<(long, string)> Expected(Dictionary<long, string> acked, long from) =>
        acked.Where(a => a.Key >= from).OrderBy(a => a.Key).Select(a => (a.Key, a.Value)).ToList();

    /// <summary>Producers 42 and 43 publish, then publishers under the same ids replay their first seqs (duplicates)
    /// while anonymous messages and fresh ones are in flight, so batches mix skipped and delivered runs.
    /// Returns every delivered payload by its acked position.
    ///
    /// The mix is made, not hoped for: with every member's syncs held, a blocker instance stays in flight (the test's
    /// members take one instance at a time), and the five publishers each send one run, which all queue at the leader.
    /// Released, the leader puts the five runs, duplicates and fresh ones, into one batch. Every publisher talks to the
    /// leader from the start: a follower whose syncs are held answers nothing meanwhile (with one accept to sync and
    /// nothing else queued, its loop syncs it itself), so it could not redirect one.</summary>
    private static async Task<Dictionary<long, string>> PublishMixedAsync(LocalCluster cluster, IReadOnlyList<SimulatedLogDevice> devices)
    {
        var acked = new Dictionary<long, string>();
        ushort leaderId = await cluster.WaitForLeaderAsync(Guard);
        // No publisher may time out while the syncs are held (that takes as long as it takes on a loaded machine): an
        // anonymous publisher's resent run is delivered again (at least once), so the blocker was once delivered twice
        // and acknowledged at its second position (CI, 2026-11-24).
        PublisherOptions OneRunAtATime(ulong? producer) => new()
        {
            ClusterId = LocalCluster.ClusterId, Members = cluster.Members, ProducerId = producer, WindowRuns = 1, PreferredMember = leaderId,
            AckTimeout = Guard,
        };
        await using var one = await Publisher.ConnectAsync(OneRunAtATime(Producer));
        await using var two = await Publisher.ConnectAsync(OneRunAtATime(Producer + 1));
        foreach (var (publisher, name) in new[] { (one, "p"), (two, "q") })
            foreach (var (position, text) in await PublishAllAsync(publisher, name, 0, 20)) acked[position] = text;
        await using var oneAgain = await Publisher.ConnectAsync(OneRunAtATime(Producer));
        await using var twoAgain = await Publisher.ConnectAsync(OneRunAtATime(Producer + 1));
        await using var anonymous = await Publisher.ConnectAsync(OneRunAtATime(0));
        await using var blocker = await Publisher.ConnectAsync(new PublisherOptions
        {
            ClusterId = LocalCluster.ClusterId, Members = cluster.Members, ProducerId = 0, PreferredMember = leaderId, AckTimeout = Guard,
        });
        var leader = cluster.Hosts[leaderId];

        foreach (var device in devices) device.HoldSyncs();
        var blocked = blocker.PublishAsync(Encoding.UTF8.GetBytes("blocker"));
        foreach (var device in devices) Assert.True(device.WaitUntilSyncHeld(Guard), "the blocker's accept was not written");
        var calls = new[]
        {
            PublishAllAsync(oneAgain, "dup-p", 0, 10), PublishAllAsync(anonymous, "n", 0, 30),
            PublishAllAsync(twoAgain, "dup-q", 0, 10), PublishAllAsync(one, "p", 20, 30), PublishAllAsync(two, "q", 20, 30),
        };
        await LocalCluster.WaitUntilAsync(() => leader.Status.QueuedRuns == calls.Length, Guard, "the leader did not queue a run from each publisher");
        foreach (var device in devices) device.ReleaseSyncs();

        acked[await blocked.WaitAsync(Guard)] = "blocker";
        var results = await Task.WhenAll(calls).WaitAsync(Guard);
        foreach (var (position, text) in results.SelectMany(r => r).Where(r => !r.Text.StartsWith("dup", StringComparison.Ordinal)))
            acked[position] = text;
        // Then one instance each, so the mixed batches are well behind the newest delivery (and several checkpoints).
        for (int i = 0; i < 12; i++) acked[await anonymous.PublishAsync(Encoding.UTF8.GetBytes($"t{i}")).WaitAsync(Guard)] = $"t{i}";
        Assert.Equal(Enumerable.Range(0, acked.Count).Select(i => (long)i), acked.Keys.Order());
        return acked;
    }

    private static async Task<(long Position, string Text)[]> PublishAllAsync(Publisher publisher, string name, int first, int count) =>
        await Task.WhenAll(Enumerable.Range(first, count).Select(async i =>
            (await publisher.PublishAsync(Encoding.UTF8.GetBytes($"{name}{i}")), $"{name}{i}")));

    [Fact]
    public async Task AMemberWithATinyRingServesFromZeroOverTheLogExactlyAsTheRingDoes()
    {
        var devices = Enumerable.Range(1, 3).ToDictionary(i => (ushort)i, i => new SimulatedLogDevice($"m{i}"));
        await using var cluster = await LocalCluster.StartAsync(3, devices: devices.ToDictionary(d => d.Key, ILogDevice (d) => d.Value), tune: t =>
        {
            t.RetentionBytes[1] = 1; // member 1 keeps only its newest delivery in memory
            // One instance in flight: runs queue up meanwhile, so a batch carries several (skipped and delivered).
            t.Consensus = c => new ConsensusOptions
            {
                NodeId = c.NodeId, Members = c.Members, CheckpointEveryInstances = 4, RetainedInstances = 8, Window = 1,
            };
        });
        var acked = await PublishMixedAsync(cluster, [.. devices.Values]);
        await LocalCluster.WaitUntilAsync(() => cluster.Hosts.Values.All(h => h.Status.NextPosition == acked.Count), Guard, "members did not deliver");

        // The frames themselves: every delivery that carries a message, byte for byte, skipped runs included.
        var ringFrames = (await RawSubscriber.ReadAsync(cluster.Members[2], 0, acked.Count, Guard)).Where(f => f.MessageCount > 0).ToList();
        var logFrames = await RawSubscriber.ReadAsync(cluster.Members[1], 0, acked.Count, Guard);
        Assert.Contains(ringFrames, f => f.SkippedRuns.Length > 0); // the test covers batches mixing skipped and delivered runs
        Assert.Equal(ringFrames.Count, logFrames.Count);
        for (int i = 0; i < ringFrames.Count; i++)
        {
            Assert.Equal((ringFrames[i].FirstPosition, ringFrames[i].Instance, ringFrames[i].MessageCount),
                (logFrames[i].FirstPosition, logFrames[i].Instance, logFrames[i].MessageCount));
            Assert.Equal(ringFrames[i].SkippedRuns, logFrames[i].SkippedRuns);
            Assert.Equal(ringFrames[i].Batch, logFrames[i].Batch);
        }

        var fromRing = await ReadAsync(cluster, 2, 0, acked.Count);
        var fromLog = await ReadAsync(cluster, 1, 0, acked.Count);
        Assert.Equal(Expected(acked, 0), fromRing);
        Assert.Equal(fromRing, fromLog);
        Assert.Equal(0, cluster.Hosts[2].HistoryReads);
        Assert.True(cluster.Hosts[1].HistoryReads > 0);
        // From the middle, inside a checkpoint interval.
        Assert.Equal(fromRing.Skip(37).ToList(), await ReadAsync(cluster, 1, 37, acked.Count - 37));
        Assert.Equal(0, cluster.Hosts[1].RetentionFloor);
    }

    [Fact]
    public async Task ARestartedMemberServesFromZeroOverItsLog()
    {
        await using var cluster = await LocalCluster.StartAsync(1, tune: t => t.Consensus = SmallCheckpoints);
        var acked = await PublishWithDuplicatesAsync(cluster);
        var before = await ReadAsync(cluster, 1, 0, acked.Count);
        Assert.Equal(Expected(acked, 0), before);

        await cluster.Hosts[1].StopAsync();
        await cluster.StartMemberAsync(1);
        var restarted = cluster.Hosts[1];
        // The ring starts empty at the recovered checkpoint: everything before it comes from the log.
        Assert.Equal(before, await ReadAsync(cluster, 1, 0, acked.Count));
        Assert.True(restarted.HistoryReads > 0);
        Assert.Equal(before.Skip(45).ToList(), await ReadAsync(cluster, 1, 45, acked.Count - 45));
        // And the stream goes on after the restart without a gap.
        await using var publisher = await Publisher.ConnectAsync(Options(cluster, 0));
        long position = await publisher.PublishAsync(Encoding.UTF8.GetBytes("after")).WaitAsync(Guard);
        Assert.Equal(acked.Count, position);
        Assert.Equal([.. before, (position, "after")], await ReadAsync(cluster, 1, 0, acked.Count + 1));
    }

    [Fact]
    public async Task BelowTheTrimmedLogTheSubscriberGetsTheEarliestRetainedPositionAndCanReadFromThere()
    {
        await using var cluster = await LocalCluster.StartAsync(1, retentionBytes: 1, tune: t =>
        {
            t.Consensus = SmallCheckpoints;
            t.SegmentBytes = 64 << 10;
            t.LogRetainBytes = 128 << 10;
            t.TrimIntervalMs = 20;
        });
        var host = cluster.Hosts[1];
        var acked = await PublishWithDuplicatesAsync(cluster, size: 6000); // 60 x 6 KB: several 64 KiB segments
        await LocalCluster.WaitUntilAsync(() => host.RetentionFloor > 0, Guard, "the log was not trimmed");

        await using (var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(1)))
        {
            var e = await Assert.ThrowsAsync<BelowRetentionFloorException>(async () =>
            {
                await foreach (var _ in subscriber.ReadAllAsync(0).WithCancellation(new CancellationTokenSource(Guard).Token)) { }
            });
            Assert.Equal(0, e.Position);
            Assert.InRange(e.EarliestRetainedPosition, 1, acked.Count - 1);
        }
        // From the floor on, the log serves every message. (A trim may still move the floor once after publishing
        // stopped: then the refusal names the new floor, and we read from there.)
        for (int attempt = 0; ; attempt++)
        {
            long floor = host.RetentionFloor;
            Assert.True(floor < acked.Count - 1, $"floor {floor}: the log holds more than the ring's one delivery");
            try
            {
                Assert.Equal(Expected(acked, floor), await ReadAsync(cluster, 1, floor, acked.Count - (int)floor));
                break;
            }
            catch (BelowRetentionFloorException e) when (attempt < 3)
            {
                Assert.True(e.EarliestRetainedPosition > floor);
            }
        }
    }

    [Fact]
    public async Task ASlowSubscriberFallsBackToTheLogAndTheRingStaysBounded()
    {
        const long ring = 64 << 10;
        const int count = 4000, size = 4096; // 16 MB: far more than the ring, the pipes and the socket buffers hold
        await using var cluster = await LocalCluster.StartAsync(1, retentionBytes: ring);
        var host = cluster.Hosts[1];
        await using var publisher = await Publisher.ConnectAsync(Options(cluster, Producer));
        await using var subscriber = await Subscriber.ConnectAsync(cluster.SubscriberOptions(1));
        using var guard = new CancellationTokenSource(Guard);
        await using var stream = subscriber.ReadAllAsync(0, guard.Token).GetAsyncEnumerator(guard.Token);

        static byte[] Payload(int i) => Encoding.UTF8.GetBytes(i.ToString().PadRight(size, 'x'));
        var positions = new long[count];
        positions[0] = await publisher.PublishAsync(Payload(0)).WaitAsync(Guard);
        Assert.True(await stream.MoveNextAsync());
        // The subscriber stops reading while the rest is published.
        for (int start = 1; start < count; start += 200)
        {
            var calls = Enumerable.Range(start, Math.Min(200, count - start)).Select(i => publisher.PublishAsync(Payload(i))).ToArray();
            var done = await Task.WhenAll(calls).WaitAsync(Guard);
            done.CopyTo(positions, start);
            // At most its bytes, or its one newest delivery (a batch of up to BatchBytesMax), whatever the subscriber does.
            Assert.True(host.RingBytes <= ring + AtomicBcast.Limits.BatchBytesMax, $"ring holds {host.RingBytes} bytes");
        }
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), positions);

        for (int i = 1; i < count; i++)
        {
            Assert.True(await stream.MoveNextAsync());
            Assert.Equal(i, stream.Current.Position);
            Assert.True(Payload(i).AsSpan().SequenceEqual(stream.Current.Payload.Span), $"payload at {i}");
        }
        Assert.Equal(0, subscriber.Reconnects);
        Assert.True(host.HistoryReads > 0, "the slow subscriber never read from the log");
    }
}
