namespace AtomicBcast.Chaos.Running;

/// <summary>
/// A named fault schedule: how many members, whether their data dirs sit on loop-device file systems (power cuts),
/// whether members run in the unsafe no-sync mode (the negative control, which the checker must flag), and the fault
/// steps it repeats (chosen with the run's seed) through the fault window.
/// </summary>
internal sealed record Scenario(string Name, int Members, string Description, Func<Faults, CancellationToken, Task>[] Steps,
    bool Disks = false, bool UnsafeNoSync = false)
{
    /// <summary>A control passes when the checker finds the lost acknowledged messages it must find.</summary>
    public bool IsControl => UnsafeNoSync;

    public static readonly IReadOnlyList<Scenario> All =
    [
        new("kill-leader", 3, "kill -9 the leader, restart it 1.5-3.5 s later", [(f, ct) => f.KillLeaderAsync(ct)]),
        new("kill-follower", 3, "kill -9 a follower, restart it 1.5-3.5 s later", [(f, ct) => f.KillFollowerAsync(ct)]),
        new("kill-majority", 3, "kill -9 a majority, restart them 1.5-3.5 s later", [(f, ct) => f.KillMajorityAsync(ct)]),
        new("pause-leader", 3, "SIGSTOP the leader for 1.5-3.5 s (> election timeout), then SIGCONT", [(f, ct) => f.PauseLeaderAsync(ct)]),
        new("isolate-leader", 3, "nftables: cut the leader off from the other members for 2.5-5 s", [(f, ct) => f.IsolateLeaderAsync(ct)]),
        new("isolate-minority", 5, "nftables: cut a random minority (2 of 5) off for 2.5-5 s", [(f, ct) => f.IsolateMinorityAsync(ct)]),
        new("one-way", 3, "nftables: drop the leader's messages to the others, or theirs to it, for 2.5-5 s", [(f, ct) => f.OneWayAsync(ct)]),
        new("flapping", 3, "nftables: a new random isolation (or none) every 0.3-1.2 s for 6-10 s", [(f, ct) => f.FlappingAsync(ct)]),
        new("packet-loss", 3, "nftables numgen: drop 5-25% of packets between members for 5-10 s", [(f, ct) => f.LossAsync(ct)]),
        new("power-cut-one", 3, "ext4 loop device: kill -9 one member and shut its file system down (unsynced writes lost), remount, restart",
            [(f, ct) => f.PowerCutOneAsync(ct)], Disks: true),
        new("power-cut-all", 3, "ext4 loop devices: power cut on every member at once, remount, restart",
            [(f, ct) => f.PowerCutAllAsync(ct)], Disks: true),
        new("fsync-eio", 3, "strace: every fdatasync of one member fails with EIO; it must exit 3 and the others go on; restart it",
            [(f, ct) => f.FsyncErrorAsync(ct)]),
        new("mixed", 3, "a seeded mix of every fault above",
            [
                (f, ct) => f.KillLeaderAsync(ct), (f, ct) => f.KillFollowerAsync(ct), (f, ct) => f.KillMajorityAsync(ct),
                (f, ct) => f.PauseLeaderAsync(ct), (f, ct) => f.IsolateLeaderAsync(ct), (f, ct) => f.IsolateMinorityAsync(ct),
                (f, ct) => f.OneWayAsync(ct), (f, ct) => f.FlappingAsync(ct), (f, ct) => f.LossAsync(ct),
                (f, ct) => f.PowerCutOneAsync(ct), (f, ct) => f.PowerCutAllAsync(ct), (f, ct) => f.FsyncErrorAsync(ct),
            ], Disks: true),
        new("mixed-5", 5, "a seeded mix of kills, pauses, partitions and loss on 5 members",
            [
                (f, ct) => f.KillLeaderAsync(ct), (f, ct) => f.KillFollowerAsync(ct), (f, ct) => f.PauseLeaderAsync(ct),
                (f, ct) => f.IsolateLeaderAsync(ct), (f, ct) => f.IsolateMinorityAsync(ct), (f, ct) => f.FlappingAsync(ct),
                (f, ct) => f.LossAsync(ct), (f, ct) => f.KillMajorityAsync(ct),
            ]),
        new("control-nosync-power-cut-all", 3,
            "NEGATIVE CONTROL: members run with --unsafe-no-sync; power cut on all at once. The checker must flag lost acknowledged messages",
            [(f, ct) => f.PowerCutAllAsync(ct)], Disks: true, UnsafeNoSync: true),
    ];

    public static Scenario Named(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"unknown scenario '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");
}
