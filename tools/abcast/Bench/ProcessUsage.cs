using System.Diagnostics;
using AtomicBcast.Node;

namespace AtomicBcast.Cli.Bench;

/// <summary>CPU time, GC counts and allocated bytes of this process at one moment.</summary>
internal readonly record struct UsageSample(double CpuSeconds, int Gen0, int Gen1, int Gen2, long AllocatedBytes)
{
    public static UsageSample Now()
    {
        using var self = Process.GetCurrentProcess();
        return new UsageSample(self.TotalProcessorTime.TotalSeconds, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
            GC.GetTotalAllocatedBytes(precise: false));
    }

    public static UsageSample operator -(UsageSample end, UsageSample start) => new(end.CpuSeconds - start.CpuSeconds,
        end.Gen0 - start.Gen0, end.Gen1 - start.Gen1, end.Gen2 - start.Gen2, end.AllocatedBytes - start.AllocatedBytes);
}

/// <summary>
/// CPU seconds of a running cluster's members when they run on this host: their pid comes from the data directory's
/// <c>LOCK.owner</c>, their CPU from <c>/proc/PID/stat</c>. Members elsewhere (or without /proc) report nothing.
/// Their GC counts are not visible from outside the process.
/// </summary>
internal static class MemberProcesses
{
    public static Dictionary<int, int> FindLocal(ClusterConfig config)
    {
        var pids = new Dictionary<int, int>();
        foreach (var member in config.Members)
        {
            try
            {
                var owner = File.ReadAllText(Path.Combine(member.DataDir, DataDirectoryLock.OwnerFileName)).Split(' ');
                // "pid N on HOST since TIME"
                if (owner.Length >= 4 && owner[0] == "pid" && owner[3] == Environment.MachineName && int.TryParse(owner[1], out int pid))
                    pids[member.Id] = pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    /// <summary>utime + stime of <paramref name="pid"/> in seconds, or null if it cannot be read.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields after the command: state is field 3, utime 14 and stime 15 (1-based), in clock ticks (USER_HZ, 100 on Linux).
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
