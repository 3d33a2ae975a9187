using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Tests;

public class AvailabilityTests
{
    [Fact]
    public void LongestGapCountsFromTheFaultToTheFirstCommitAfterIt()
    {
        long[] commits = [100, 200, 300, 1_500, 1_600];
        Assert.Equal(1_200, AvailabilityReport.LongestGap(commits, 250, 1_700));   // 300 -> 1500; 250 -> 300 is shorter
        Assert.Equal(700, AvailabilityReport.LongestGap(commits, 0, 1_000));       // the last commit (300) to the window's end

        Assert.Equal(1_200, AvailabilityReport.LongestGap(commits, 300, 1_600));
        Assert.Equal(400, AvailabilityReport.LongestGap(commits, 1_600, 2_000));   // no commit after: the window's end bounds it
    }

    [Fact]
    public void OutagePerFaultBucketsAndRates()
    {
        var h = SyntheticHistory.Clean(20);   // acks at 5, 15, ... 195 ms
        h.Faults.Add(new FaultRecord("kill-leader", "1", 100, 150));
        var a = AvailabilityReport.Compute(h.Build());
        Assert.Equal(20, a.CommitsPer100Ms.Sum());
        Assert.Equal(10, a.CommitsPer100Ms[0]);
        var outage = Assert.Single(a.Outages);
        Assert.Equal(10, outage.OutageMs);   // window [100, 200): commits every 10 ms
        Assert.Equal(5 * 1000.0 / 50, a.BeforePerSecond);   // [0, 50): 5, 15, 25, 35, 45
    }
}
