using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Checking;

/// <summary>How long commits stopped after one fault: the longest stretch without an acknowledgement in the window after it.</summary>
public sealed record FaultOutage(FaultRecord Fault, long OutageMs);

/// <summary>Availability of a run: commits (acknowledgements) per 100 ms, outages after faults, throughput per phase.</summary>
public sealed record AvailabilityReport(
    IReadOnlyList<int> CommitsPer100Ms,
    IReadOnlyList<FaultOutage> Outages,
    double BeforePerSecond,
    double DuringPerSecond,
    double AfterPerSecond)
{
    public const int BucketMs = 100;

    /// <summary>How far after a fault's start its outage is looked for (unless the next fault starts earlier).</summary>
    public const long WindowMs = 15_000;

    public static AvailabilityReport Compute(RunHistory history)
    {
        var commits = history.Publishes.Where(p => p.Outcome is Outcome.Acked or Outcome.AckedNoPosition)
            .Select(p => p.DoneMs).Order().ToArray();
        var ph = history.Phases;
        var buckets = new int[(int)(Math.Max(ph.EndMs, 1) / BucketMs) + 1];
        foreach (var t in commits) buckets[Math.Clamp((int)(t / BucketMs), 0, buckets.Length - 1)]++;
        var faults = history.Faults.OrderBy(f => f.StartMs).ToList();
        var outages = new List<FaultOutage>();
        for (int i = 0; i < faults.Count; i++)
        {
            long from = faults[i].StartMs;
            long until = Math.Min(from + WindowMs, i + 1 < faults.Count ? Math.Max(faults[i + 1].StartMs, from + 1) : ph.PublishStopMs);
            outages.Add(new FaultOutage(faults[i], LongestGap(commits, from, Math.Max(until, from + 1))));
        }
        return new AvailabilityReport(buckets, outages,
            Rate(commits, ph.PublishStartMs, ph.FaultsStartMs),
            Rate(commits, ph.FaultsStartMs, ph.HealMs),
            Rate(commits, ph.HealMs, ph.PublishStopMs));
    }

    /// <summary>The longest interval in [from, until] without a commit (the window's ends count as boundaries).</summary>
    public static long LongestGap(long[] sortedCommits, long from, long until)
    {
        int i = Array.BinarySearch(sortedCommits, from);
        if (i < 0) i = ~i;
        long previous = from, longest = 0;
        for (; i < sortedCommits.Length && sortedCommits[i] <= until; i++)
        {
            longest = Math.Max(longest, sortedCommits[i] - previous);
            previous = sortedCommits[i];
        }
        return Math.Max(longest, until - previous);
    }

    private static double Rate(long[] sortedCommits, long from, long until)
    {
        if (until <= from) return 0;
        int count = sortedCommits.Count(t => t >= from && t < until);
        return count * 1000.0 / (until - from);
    }
}
