using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Storage;

/// <summary>Small logs on simulated devices, and deterministic payloads to check what comes back.</summary>
internal static class LogTestKit
{
    public const long SegmentBytes = 64 << 10;
    public const string Cluster = "test-cluster";

    public static GroupCommitLog Open(ILogDevice device, long segmentBytes = SegmentBytes, int flushBytesMax = 16 << 10,
        DurabilityMode durability = DurabilityMode.Sync, int indexCapacity = 1024) =>
        GroupCommitLog.Open(new GroupCommitLogOptions
        {
            Device = device,
            MemberId = 3,
            ClusterId = Cluster,
            SegmentBytes = segmentBytes,
            Policy = CommitPolicy.BytesOrDelay(flushBytesMax, TimeSpan.Zero),
            Durability = durability,
            IndexCapacity = indexCapacity,
        });

    /// <summary>The batch bytes stored for an instance: length and content follow from the seed and instance.</summary>
    public static byte[] Payload(int seed, ulong instance, int lengthMax = 300)
    {
        var random = new Random(unchecked(seed * 1_000_003 + (int)instance)); // not HashCode: it is seeded per process
        var bytes = new byte[random.Next(1, lengthMax)];
        random.NextBytes(bytes);
        return bytes;
    }

    public static Ballot BallotOf(ulong round) => Ballot.Create(round, 3);

    /// <summary>Every durable accept the log serves, in instance order from <paramref name="from"/>.</summary>
    public static List<(ulong Instance, Ballot Ballot, byte[] Batch)> ReadAll(GroupCommitLog log, ulong from = 0)
    {
        var reader = log.ReadAccepts(from);
        var result = new List<(ulong, Ballot, byte[])>();
        while (reader.TryReadNext(out ulong instance, out var ballot, out var batch)) result.Add((instance, ballot, batch.ToArray()));
        return result;
    }

    public static string LastSegment(SimulatedLogDevice device) =>
        device.ListFiles().Where(n => n.EndsWith(".log", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Last();

    public static string[] Segments(SimulatedLogDevice device) =>
        [.. device.ListFiles().Where(n => n.EndsWith(".log", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    /// <summary>A byte-for-byte copy of a cleanly closed device (nothing unsynced, so a crash loses nothing).</summary>
    public static SimulatedLogDevice Copy(SimulatedLogDevice device) => device.Crash(new Random(0), keepUnsyncedProbability: 1.0);

    /// <summary>
    /// The device as a crash right after the last sync would have left it: the same records, but no clean-close
    /// marker (only a clean close writes one). Tests of torn tails start from this.
    /// </summary>
    public static SimulatedLogDevice AsCrashed(SimulatedLogDevice device)
    {
        device.Delete(CleanCloseMarker.FileName);
        device.SyncDirectory();
        return device;
    }
}
