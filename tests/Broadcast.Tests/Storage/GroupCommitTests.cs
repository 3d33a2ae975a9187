using System.Collections.Concurrent;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

public class GroupCommitTests
{
    [Fact]
    public async Task ConcurrentAppendersEachCompleteOnceAndOnlyWhenEveryLowerAddressIsDurable()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        const int appenders = 8, perAppender = 400;
        var completions = new ConcurrentDictionary<ulong, int>();
        var violations = new ConcurrentQueue<string>();

        async Task Appender(int id)
        {
            for (int i = 0; i < perAppender; i++)
            {
                ulong instance = (ulong)(id * perAppender + i);
                var address = await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(1, instance));
                // Completed: this record and every record below it must be durable now.
                if (log.DurableUntil <= address) violations.Enqueue($"{address} completed with DurableUntil {log.DurableUntil}");
                completions.AddOrUpdate(address.Value, 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, appenders).Select(id => Task.Run(() => Appender(id))));

        Assert.Empty(violations);
        Assert.Equal(appenders * perAppender, completions.Count);
        Assert.All(completions.Values, n => Assert.Equal(1, n));
        Assert.True(log.FlushCount < appenders * perAppender, $"{log.FlushCount} flushes for {appenders * perAppender} records: no group commit");
        Assert.Equal(appenders * perAppender, LogTestKit.ReadAll(log).Count);
    }

    [Fact]
    public async Task WaitersOfManyAddressesCompleteInAddressOrder()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device, flushBytesMax: 4096);
        var addresses = new List<LogAddress>();
        var order = new ConcurrentQueue<(LogAddress Address, LogAddress DurableAtCompletion)>();
        var waits = new List<Task>();
        for (ulong instance = 0; instance < 2000; instance++)
        {
            LogAddress address;
            while (!log.TryAppendAccept(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(2, instance), out address))
                await log.WaitForDurableAsync(addresses[^1]);
            addresses.Add(address);
            if (instance % 7 == 0)
            {
                var wait = log.WaitForDurableAsync(address);
                waits.Add(Completion(wait, address));
            }
        }
        await Task.WhenAll(waits);

        async Task Completion(ValueTask wait, LogAddress address)
        {
            await wait;
            order.Enqueue((address, log.DurableUntil));
        }

        // Durability is a prefix: when any waiter completes, every waiter below it could complete too.
        foreach (var (address, durable) in order) Assert.True(durable > address);
        Assert.Equal(waits.Count, order.Count);
        Assert.Equal(waits.Count, order.Select(o => o.Address).Distinct().Count());
        Assert.True(log.FlushCount > 1);
    }

    [Fact]
    public async Task AlreadyDurableWaitCompletesSynchronously()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device);
        var address = await log.AppendPromiseAsync(LogTestKit.BallotOf(7));
        var wait = log.WaitForDurableAsync(address);
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(LogTestKit.BallotOf(7), log.Promised);
    }

    [Fact]
    public async Task RecordsLargerThanTheFlushSizeAndSegmentRollsAreHandled()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device, flushBytesMax: 4096))
        {
            for (ulong instance = 0; instance < 40; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(3, instance, lengthMax: 20_000));
        }
        Assert.True(LogTestKit.Segments(device).Length > 3);
        using var reopened = LogTestKit.Open(device, flushBytesMax: 4096);
        var all = LogTestKit.ReadAll(reopened);
        Assert.Equal(40, all.Count);
        foreach (var (instance, _, batch) in all) Assert.Equal(LogTestKit.Payload(3, instance, lengthMax: 20_000), batch);
    }

    [Fact]
    public async Task UnsafeNoSyncAcknowledgesWithoutSyncing()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device, durability: DurabilityMode.UnsafeNoSync);
        long syncsAfterOpen = device.SyncCount;
        for (ulong instance = 0; instance < 10; instance++)
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(4, instance));
        Assert.Equal(syncsAfterOpen + 1, device.SyncCount); // only the new segment's creation synced
    }

    [Fact]
    public async Task RealFilesRoundTripThroughTheFileDevice()
    {
        string directory = Path.Combine(Path.GetTempPath(), "abcast-log-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new GroupCommitLogOptions { Directory = directory, MemberId = 1, ClusterId = "c", SegmentBytes = 1 << 20 };
            using (var log = GroupCommitLog.Open(options))
            {
                await log.AppendAcceptAsync(5, LogTestKit.BallotOf(2), new byte[] { 1, 2, 3 });
                await log.AppendCheckpointAsync(5, 100, new byte[] { 9, 9 });
            }
            Assert.Equal(1 << 20, new FileInfo(Path.Combine(directory, "segment-0000000000.log")).Length);
            using var reopened = GroupCommitLog.Open(options);
            Assert.True(reopened.TryReadAccept(5, out var ballot, out var batch));
            Assert.Equal(LogTestKit.BallotOf(2), ballot);
            Assert.Equal(new byte[] { 1, 2, 3 }, batch.Span.ToArray());
            batch.Release();
            Assert.True(reopened.TryReadLatestCheckpoint(out ulong instance, out ulong position, out var table));
            Assert.Equal((5UL, 100UL), (instance, position));
            Assert.Equal(new byte[] { 9, 9 }, table);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
