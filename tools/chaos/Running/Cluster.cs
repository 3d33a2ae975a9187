using AtomicBcast.Node;

namespace AtomicBcast.Chaos.Running;

/// <summary>
/// The members of one run: member i serves on 127.0.0.(10+i):7000 inside the run's network namespace, its data
/// directory on its own loop-device file system when the scenario cuts power, and the cluster.json the runner wrote.
/// </summary>
internal sealed class Cluster : IDisposable
{
    public const int Port = 7000;
    private readonly Dictionary<int, Disk> _disks = new();
    private readonly RunClock _clock;

    public Cluster(string runDir, int count, string abcast, bool withDisks, bool unsafeNoSync, RunClock clock)
    {
        _clock = clock;
        Ids = Enumerable.Range(1, count).ToArray();
        Addresses = Ids.ToDictionary(id => id, id => $"127.0.0.{10 + id}");
        var dataDirs = new Dictionary<int, string>();
        foreach (var id in Ids)
        {
            if (withDisks)
            {
                var disk = new Disk(Path.Combine(runDir, $"disk-{id}.img"), Path.Combine(runDir, $"mnt-{id}"));
                disk.Create(384);
                _disks[id] = disk;
                dataDirs[id] = Path.Combine(disk.MountPoint, "data");
            }
            else dataDirs[id] = Path.Combine(runDir, "data", id.ToString());
        }
        DataDirs = dataDirs;
        Config = new ClusterConfig("chaos", Ids.Select(id => new MemberConfig(id, $"{Addresses[id]}:{Port}", dataDirs[id])).ToArray());
        ConfigPath = Path.Combine(runDir, "cluster.json");
        File.WriteAllText(ConfigPath, Config.ToJson());
        Firewall = new Firewall(Addresses);
        Members = Ids.ToDictionary(id => id,
            id => new MemberProcess(id, abcast, ConfigPath, Path.Combine(runDir, $"member-{id}.log"), unsafeNoSync, clock));
    }

    public int[] Ids { get; }
    public IReadOnlyDictionary<int, string> Addresses { get; }
    public IReadOnlyDictionary<int, string> DataDirs { get; }
    public ClusterConfig Config { get; }
    public string ConfigPath { get; }
    public Firewall Firewall { get; }
    public IReadOnlyDictionary<int, MemberProcess> Members { get; }
    public bool HasDisks => _disks.Count > 0;

    public void StartAll()
    {
        foreach (var m in Members.Values) m.Start();
    }

    /// <summary>
    /// The member that leads, from the members' status files (rewritten every second): a live member that says it
    /// leads, with the highest ballot, and that a majority (itself included) names as leader, so a stale file of a
    /// deposed leader is not taken. Waits up to <paramref name="patience"/> for one; null if none.
    /// </summary>
    public async Task<int?> LeaderAsync(TimeSpan patience, CancellationToken cancellationToken)
    {
        long until = _clock.NowMs + (long)patience.TotalMilliseconds;
        while (true)
        {
            long freshAfter = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 2_000;
            var statuses = Ids.Where(id => Members[id].Running && !Members[id].Paused)
                .Select(id => StatusFile.TryRead(DataDirs[id]))
                .Where(s => s is { Halted: false } && s.UpdatedUnixMs >= freshAfter).Select(s => s!).ToList();
            var leader = statuses.Where(s => s.Role == "leader").OrderByDescending(s => s.Ballot).FirstOrDefault();
            if (leader is not null && statuses.Count(s => s.LeaderId == leader.Id) >= Config.Quorum) return leader.Id;
            if (_clock.NowMs >= until) return null;
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The next position member <paramref name="id"/> delivers, from its status file (-1 if unreadable).</summary>
    public long DeliveredPosition(int id) => StatusFile.TryRead(DataDirs[id]) is { } s ? s.DeliveredPosition : -1;

    /// <summary>The delivered position every live member reported last (for the report).</summary>
    public string DeliveredPositions() => string.Join(", ",
        Ids.Select(id => $"{id}: {(StatusFile.TryRead(DataDirs[id]) is { } s ? s.DeliveredPosition.ToString() : "?")}"));

    /// <summary>Kills the members at once, then their file systems lose everything unsynced; remounted, not restarted.</summary>
    public void PowerCut(IReadOnlyCollection<int> ids)
    {
        foreach (var id in ids) Members[id].Signal(Shell.SigKill);
        foreach (var id in ids) _disks[id].Shutdown();
        foreach (var id in ids) Members[id].WaitForExit(TimeSpan.FromSeconds(10));
        foreach (var id in ids) _disks[id].PowerCycle();
    }

    /// <summary>Stops every member (in order, by force if needed) and unmounts their file systems.</summary>
    public void Dispose()
    {
        foreach (var m in Members.Values) m.Stop(TimeSpan.FromSeconds(10));
        foreach (var m in Members.Values) m.CloseLog();
        foreach (var d in _disks.Values)
        {
            try { d.Unmount(); }
            catch (InvalidOperationException) { /* the namespace's end unmounts it anyway */ }
        }
    }
}
