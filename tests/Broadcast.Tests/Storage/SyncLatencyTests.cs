using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using AtomicBcast.Wire;

namespace AtomicBcast.Tests.Storage;

/// <summary>The log's sync durations: buckets, percentile bounds, window differences, and that a log counts its syncs.</summary>
public class SyncLatencyTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(63, 0)]
    [InlineData(64, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    [InlineData(1_000, 4)]     // 512 <= 1000 < 1024
    [InlineData(1_024, 5)]
    [InlineData(1_048_575, 14)]
    [InlineData(1_048_576, 15)]
    [InlineData(long.MaxValue, 15)]
    public void ADurationFallsInTheBucketBelowWhoseBoundItIs(long micros, int bucket)
    {
        Assert.Equal(bucket, SyncLatencyFigures.BucketOf(micros));
        Assert.True(micros < SyncLatencyFigures.UpperBoundMicros(bucket) || bucket == SyncLatencyFigures.Buckets - 1);
        if (bucket > 0) Assert.True(micros >= SyncLatencyFigures.UpperBoundMicros(bucket - 1));
    }

    [Fact]
    public void PercentileBoundsComeFromTheCumulativeCounts()
    {
        var recorder = new SyncLatencyRecorder();
        Assert.Equal(-1, recorder.Snapshot().PercentileBoundMicros(50));
        for (int i = 0; i < 98; i++) recorder.Record(TimeSpan.FromMicroseconds(700));   // below 1,024
        recorder.Record(TimeSpan.FromMilliseconds(5));    // below 8,192
        recorder.Record(TimeSpan.FromMilliseconds(30));   // below 32,768
        var figures = recorder.Snapshot();
        Assert.Equal(100, figures.Total);
        Assert.Equal(30_000, figures.SlowestMicros);
        Assert.Equal(1_024, figures.PercentileBoundMicros(50));
        Assert.Equal(1_024, figures.PercentileBoundMicros(98));
        Assert.Equal(8_192, figures.PercentileBoundMicros(99));
        Assert.Equal(32_768, figures.PercentileBoundMicros(100));
    }

    [Fact]
    public void AWindowIsTheDifferenceOfTwoReadings()
    {
        var recorder = new SyncLatencyRecorder();
        recorder.Record(TimeSpan.FromMilliseconds(40));
        var first = recorder.Snapshot();
        for (int i = 0; i < 10; i++) recorder.Record(TimeSpan.FromMicroseconds(300));
        var window = recorder.Snapshot().Since(first);
        Assert.Equal(10, window.Total);
        Assert.Equal(512, window.PercentileBoundMicros(100));   // the 40 ms sync was before the window
    }

    [Theory]
    [InlineData(DurabilityMode.Sync)]
    [InlineData(DurabilityMode.UnsafeNoSync)]
    public async Task ALogCountsOneSyncPerFlushAndNoneWithoutSync(DurabilityMode durability)
    {
        using var log = LogTestKit.Open(new SimulatedLogDevice(), durability: durability);
        var payload = new byte[100];
        for (ulong instance = 0; instance < 5; instance++)
        {
            Assert.True(log.TryAppendAccept(instance, LogTestKit.BallotOf(1), payload, out var last));
            await log.WaitForDurableAsync(last);
        }
        var figures = log.SyncLatency;
        Assert.True(figures.IsKnown);
        Assert.True(log.FlushCount >= 5);
        Assert.Equal(durability == DurabilityMode.Sync ? log.FlushCount : 0, figures.Total);
    }
}
