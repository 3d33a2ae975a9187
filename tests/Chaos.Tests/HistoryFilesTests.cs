using AtomicBcast.Chaos.Checking;
using AtomicBcast.Chaos.History;

namespace AtomicBcast.Chaos.Tests;

public class HistoryFilesTests
{
    [Fact]
    public void ASavedHistoryLoadsBackAndJudgesTheSame()
    {
        var h = SyntheticHistory.Clean();
        h.Streams["live-2"].RemoveAt(7);
        h.Faults.Add(new FaultRecord("one-way", "2", 60, 120, "leader's messages dropped"));
        h.Expectations.Add(new ExpectationRecord("x", false, "a\tb"));
        var dir = Path.Combine(Path.GetTempPath(), "chaos-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var original = h.Build();
            HistoryFiles.Save(dir, original);
            var loaded = HistoryFiles.Load(dir);
            Assert.Equal(original.Publishes, loaded.Publishes);
            Assert.Equal(original.Faults, loaded.Faults);
            Assert.Equal(original.Phases, loaded.Phases);
            Assert.Equal(original.Streams.Select(s => (s.Name, s.From, s.Audit, s.Deliveries.Count)).Order(),
                loaded.Streams.Select(s => (s.Name, s.From, s.Audit, s.Deliveries.Count)).Order());
            Assert.Equal(Checker.Check(original).Select(v => (v.Property, v.Violations)), Checker.Check(loaded).Select(v => (v.Property, v.Violations)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
