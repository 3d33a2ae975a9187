using System.Collections.Concurrent;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

public class RecoveryTests
{
    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 24)];

    /// <summary>
    /// Appends from several appenders, crashes at a random moment (each unsynced write kept, lost or torn per
    /// sector), reopens: every record acknowledged before the crash is there, intact, and what is served is an
    /// exact prefix of what was appended (nothing after a torn point).
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task CrashAtARandomPointKeepsEveryAcknowledgedRecordAndServesOnlyAPrefix(int seed)
    {
        var random = new Random(seed);
        var device = new SimulatedLogDevice();
        var appended = new ConcurrentDictionary<ulong, LogAddress>();
        var acknowledged = new ConcurrentDictionary<ulong, bool>();
        HashSet<ulong>? acknowledgedAtCrash = null;
        var crashed = new TaskCompletionSource();
        using (var log = LogTestKit.Open(device, flushBytesMax: 4096 * (1 + seed % 3)))
        {
            // Sync 1 created the first segment; crash inside a later flush, with its write on the device but unsynced.
            device.CrashAtSync(random.Next(10, 120), new Random(seed), keepUnsyncedProbability: random.NextDouble(), onCrash: () =>
            {
                acknowledgedAtCrash = [.. acknowledged.Keys];
                crashed.TrySetResult();
            });
            int next = -1;
            async Task Appender(int id)
            {
                var appenderRandom = new Random(seed * 31 + id);
                while (!crashed.Task.IsCompleted)
                {
                    var mine = new List<ulong>();
                    LogAddress last = default;
                    // Odd seeds append bursts big enough to seal several buffers into one flush.
                    for (int i = appenderRandom.Next(1, seed % 2 == 0 ? 6 : 60); i > 0; i--)
                    {
                        ulong instance = (ulong)Interlocked.Increment(ref next);
                        while (!log.TryAppendAccept(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(seed, instance), out last))
                            await Task.Yield();
                        appended[instance] = last;
                        mine.Add(instance);
                    }
                    await log.WaitForDurableAsync(last);
                    foreach (ulong instance in mine) acknowledged[instance] = true;
                }
            }
            var appenders = Enumerable.Range(0, 4).Select(id => Task.Run(() => Appender(id))).ToArray();
            await crashed.Task;
            await Task.WhenAll(appenders);
        }
        Assert.NotNull(device.CrashImage);

        using var reopened = LogTestKit.Open(device.CrashImage);
        var served = new Dictionary<ulong, byte[]>();
        foreach (var instance in appended.Keys)
            if (reopened.TryReadAccept(instance, out _, out var batch))
            {
                served[instance] = batch.Span.ToArray();
                batch.Release();
            }

        Assert.NotEmpty(served); // flushes synced before the crash point: the check below is not vacuous
        foreach (ulong instance in acknowledgedAtCrash!) Assert.True(served.ContainsKey(instance), $"acknowledged instance {instance} lost");
        foreach (var (instance, bytes) in served) Assert.Equal(LogTestKit.Payload(seed, instance), bytes);
        // A prefix in address order: no record served after one that is missing.
        var byAddress = appended.OrderBy(pair => pair.Value).Select(pair => served.ContainsKey(pair.Key)).ToList();
        int firstMissing = byAddress.IndexOf(false);
        Assert.True(firstMissing < 0 || !byAddress.Skip(firstMissing).Contains(true), $"record served after a torn point (seed {seed})");
        Assert.Equal(reopened.Tail, reopened.DurableUntil);

        // The cut tail never comes back: append, reopen, and the new records follow the old prefix exactly.
        ulong fresh = 1_000_000;
        await reopened.AppendAcceptAsync(fresh, LogTestKit.BallotOf(2), new byte[] { 42 });
        reopened.Dispose();
        using var again = LogTestKit.Open(LogTestKit.Copy(device.CrashImage));
        Assert.True(again.TryGetAccept(fresh, out _, out _));
        foreach (var instance in appended.Keys) Assert.Equal(served.ContainsKey(instance), again.TryGetAccept(instance, out _, out _));
    }

    /// <summary>
    /// A torn last flush leaves a whole record behind the torn one. After the cut, a new record of the same size
    /// lands exactly before that remnant; the remnant must not come back as the record after it.
    /// </summary>
    [Fact]
    public async Task RemnantsOfATornFlushAreNeverServedAfterNewAppends()
    {
        var device = new SimulatedLogDevice();
        var payload = new byte[100];
        using (var log = LogTestKit.Open(device))
        {
            await log.AppendAcceptAsync(0, LogTestKit.BallotOf(1), payload);
            // Park the flusher in a sync so records 1 and 2 wait in the same buffer: one flush.
            device.HoldSyncs();
            Assert.True(log.TryAppendPromise(LogTestKit.BallotOf(1), out _));
            Assert.True(device.WaitUntilSyncHeld(TimeSpan.FromMinutes(1)));
            Assert.True(log.TryAppendAccept(1, LogTestKit.BallotOf(1), payload, out var torn));
            Assert.True(log.TryAppendAccept(2, LogTestKit.BallotOf(1), payload, out var remnant));
            device.ReleaseSyncs();
            await log.WaitForDurableAsync(remnant);
            device.FlipBit(LogTestKit.LastSegment(device), (long)(torn.Value % LogTestKit.SegmentBytes) + 40, 0);
        }
        LogTestKit.AsCrashed(device);
        using (var log = LogTestKit.Open(device))
        {
            Assert.Equal(0UL, log.HighestInstance);
            await log.AppendAcceptAsync(7, LogTestKit.BallotOf(2), payload); // same size as the torn record
        }
        using var reopened = LogTestKit.Open(device);
        Assert.False(reopened.TryGetAccept(2, out _, out _));
        Assert.Equal(7UL, reopened.HighestInstance);
    }

    public enum Cut { Truncate, Zero }

    /// <summary>
    /// Cuts the last segment at every byte offset of its last records (shortening the file, or zeroing the rest as
    /// a lost preallocated write would): recovery keeps exactly the records that are whole.
    /// </summary>
    [Theory]
    [InlineData(Cut.Truncate)]
    [InlineData(Cut.Zero)]
    public async Task CutAtEveryOffsetOfTheLastRecordsKeepsExactlyTheWholeRecords(Cut cut)
    {
        var device = new SimulatedLogDevice();
        var ends = new List<(ulong Instance, long End)>();
        using (var log = LogTestKit.Open(device))
        {
            for (ulong instance = 0; instance < 20; instance++)
            {
                var address = await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(9, instance, lengthMax: 90));
                ends.Add((instance, (long)(address.Value % LogTestKit.SegmentBytes) + 32 + LogTestKit.Payload(9, instance, lengthMax: 90).Length));
            }
        }
        string segment = LogTestKit.LastSegment(device);
        long from = ends[^4].End - 1; // inside the third-to-last record's tail, through the end of the last
        long to = ends[^1].End;
        for (long offset = from; offset <= to; offset++)
        {
            var copy = LogTestKit.AsCrashed(LogTestKit.Copy(device));
            if (cut == Cut.Truncate) copy.Truncate(segment, offset);
            else ZeroFrom(copy, segment, offset);
            using var log = LogTestKit.Open(copy);
            int whole = ends.Count(e => e.End <= offset);
            var all = LogTestKit.ReadAll(log);
            Assert.Equal(whole, all.Count);
            Assert.Equal(whole == 0 ? null : (ulong)whole - 1, log.HighestInstance);
            for (int i = 0; i < all.Count; i++) Assert.Equal(LogTestKit.Payload(9, (ulong)i, lengthMax: 90), all[i].Batch);
        }
    }

    private static void ZeroFrom(SimulatedLogDevice device, string file, long offset)
    {
        long length = device.ReadAllBytes(file).Length;
        device.Truncate(file, offset);
        using var handle = device.Open(file);
        handle.SetLength(length);
        handle.SyncAll();
    }

    public static TheoryData<int, int> Flips() => new() { { 0, 0 }, { 4, 3 }, { 8, 1 }, { 12, 6 }, { 16, 0 }, { 40, 7 } };

    /// <summary>
    /// A bit flipped in a record that later flushes follow (in the last segment and in an earlier one) is
    /// corruption: open fails naming the segment file and the record's offset, and nothing is changed on disk.
    /// </summary>
    [Theory]
    [MemberData(nameof(Flips))]
    public async Task BitFlipInTheMiddleOfTheLogFailsOpenNamingTheSpot(int byteInRecord, int bit)
    {
        var device = new SimulatedLogDevice();
        var addresses = new List<LogAddress>();
        using (var log = LogTestKit.Open(device))
            for (ulong instance = 0; instance < 900; instance++)
                addresses.Add(await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(5, instance)));
        Assert.True(LogTestKit.Segments(device).Length >= 3);

        var lastSegmentStart = (addresses[^1].Value / LogTestKit.SegmentBytes) * LogTestKit.SegmentBytes;
        // Victims whose record is longer than the flipped byte's position (payload 16 bytes or more).
        bool Long(int index) => LogTestKit.Payload(5, (ulong)index).Length >= 16;
        int inFirst = Enumerable.Range(100, 800).First(Long);
        int inLast = Enumerable.Range(0, 900).First(i => addresses[i].Value > lastSegmentStart + 2000 && Long(i));
        Assert.True(inLast < 899, "the victim must not be in the last flush");
        foreach (var victim in new[] { addresses[inFirst], addresses[inLast] })
        {
            var copy = LogTestKit.Copy(device);
            string file = LogFormatName(victim);
            long offset = (long)(victim.Value % LogTestKit.SegmentBytes);
            copy.FlipBit(file, offset + byteInRecord, bit);
            var before = Snapshot(copy);
            var error = Assert.Throws<LogCorruptException>(() => LogTestKit.Open(copy));
            Assert.Equal(file, error.SegmentFile);
            Assert.Equal(offset, error.Offset);
            Assert.Contains(file, error.Message);
            Assert.Contains(offset.ToString(), error.Message);
            Assert.Equal(before, Snapshot(copy));
        }
    }

    [Fact]
    public async Task BitFlipInASegmentHeaderFailsOpenAtOffsetZero()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
            await log.AppendPromiseAsync(LogTestKit.BallotOf(1));
        device.FlipBit("segment-0000000000.log", 20, 2);
        var error = Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device));
        Assert.Equal(("segment-0000000000.log", 0L), (error.SegmentFile, error.Offset));
    }

    [Fact]
    public async Task MissingMiddleSegmentFailsOpen()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
            for (ulong instance = 0; instance < 1200; instance++)
                await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(6, instance));
        Assert.True(LogTestKit.Segments(device).Length >= 3);
        device.Delete("segment-0000000001.log");
        var error = Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device));
        Assert.Equal("segment-0000000001.log", error.SegmentFile);
    }

    [Fact]
    public async Task PromisesCheckpointsAndLatestAcceptsSurviveReopen()
    {
        var device = new SimulatedLogDevice();
        using (var log = LogTestKit.Open(device))
        {
            await log.AppendPromiseAsync(LogTestKit.BallotOf(4));
            await log.AppendAcceptAsync(1, LogTestKit.BallotOf(4), new byte[] { 1 });
            await log.AppendPromiseAsync(LogTestKit.BallotOf(9));
            await log.AppendPromiseAsync(LogTestKit.BallotOf(6));
            await log.AppendAcceptAsync(1, LogTestKit.BallotOf(9), new byte[] { 2 });
            await log.AppendCheckpointAsync(1, 77, new byte[] { 5, 5, 5 });
        }
        using var reopened = LogTestKit.Open(device);
        Assert.Equal(LogTestKit.BallotOf(9), reopened.Promised);
        Assert.True(reopened.TryReadAccept(1, out var ballot, out var batch));
        Assert.Equal((LogTestKit.BallotOf(9), (byte)2), (ballot, batch.Span[0]));
        batch.Release();
        Assert.True(reopened.TryReadLatestCheckpoint(out ulong instance, out ulong position, out var table));
        Assert.Equal((1UL, 77UL), (instance, position));
        Assert.Equal(new byte[] { 5, 5, 5 }, table);
    }

    /// <summary>
    /// A torn last record near the end of a segment is cut; the next append does not fit and rolls to a new segment,
    /// so the cut spot is no longer in the last segment. The next open must still find a clean end there (the cut
    /// leaves a terminator), not a bad record in a segment that later segments follow.
    /// </summary>
    [Fact]
    public async Task ACutTornTailFollowedByARollStillOpens()
    {
        var device = new SimulatedLogDevice();
        LogAddress last = default;
        ulong instance = 0;
        using (var log = LogTestKit.Open(device))
            while (last.Value % LogTestKit.SegmentBytes < LogTestKit.SegmentBytes - 3000 && last.Value < LogTestKit.SegmentBytes)
                last = await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(12, instance++, lengthMax: 200));
        Assert.Single(LogTestKit.Segments(device));
        ulong torn = instance - 1;
        device.FlipBit(LogTestKit.LastSegment(device), (long)(last.Value % LogTestKit.SegmentBytes) + 40, 1);
        LogTestKit.AsCrashed(device);
        using (var log = LogTestKit.Open(device))
        {
            Assert.Equal(torn - 1, log.HighestInstance);
            await log.AppendAcceptAsync(torn, LogTestKit.BallotOf(2), new byte[8000]); // does not fit: a new segment
        }
        Assert.Equal(2, LogTestKit.Segments(device).Length);
        using var reopened = LogTestKit.Open(device);
        var all = LogTestKit.ReadAll(reopened);
        Assert.Equal((int)torn + 1, all.Count);
        Assert.Equal(new byte[8000], all[^1].Batch);
    }

    /// <summary>
    /// A member killed after renaming a new segment into place but before syncing the directory finds the segment at
    /// restart and appends to it. Those appends are acknowledged, so a power cut after them must not lose the
    /// segment's name: the open syncs the directory before anything is appended.
    /// </summary>
    [Fact]
    public async Task ASegmentWhoseNameWasNotDurableAtTheKillSurvivesAPowerCutAfterTheRestart()
    {
        var device = new SimulatedLogDevice();
        ulong instance = 0;
        using (var log = LogTestKit.Open(device))
        {
            await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(13, instance++)); // makes segment 0
            device.FailNextDirectorySyncs(1); // the next one is the roll's: the kill comes before it
            await Assert.ThrowsAsync<LogFailedException>(async () =>
            {
                while (true) await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(13, instance++));
            });
        }
        Assert.Contains("segment-0000000001.log", device.ListFiles());
        var acknowledged = new List<ulong>();
        SimulatedLogDevice afterPowerCut;
        using (var restarted = LogTestKit.Open(device))
        {
            for (ulong next = 1_000; next < 1_010; next++)
            {
                await restarted.AppendAcceptAsync(next, LogTestKit.BallotOf(2), LogTestKit.Payload(13, next));
                acknowledged.Add(next);
            }
            afterPowerCut = device.Crash(new Random(1), keepUnsyncedProbability: 0); // before the close syncs anything
        }
        using var reopened = LogTestKit.Open(afterPowerCut);
        foreach (ulong acked in acknowledged) Assert.True(reopened.TryGetAccept(acked, out _, out _), $"acknowledged instance {acked} lost");
    }

    /// <summary>
    /// Synced records zeroed over a range longer than any flush reaches (media damage, not a torn write): the valid
    /// records after the range prove it, however far after the stop they are, in the last segment and in one that
    /// later segments follow.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ZerosLongerThanAFlushInTheMiddleOfSyncedRecordsAreCorruption(bool laterSegmentFollows)
    {
        const long segmentBytes = 32 << 20;
        var device = new SimulatedLogDevice();
        var payload = Enumerable.Repeat((byte)7, 60_000).ToArray();
        ulong instance = 0;
        using (var log = LogTestKit.Open(device, segmentBytes, flushBytesMax: 1 << 20))
        {
            while ((await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), payload)).Value < 24 << 20) instance++;
            if (laterSegmentFollows)
                while (log.Tail.Value < (ulong)segmentBytes + 4096)
                    await log.AppendAcceptAsync(++instance, LogTestKit.BallotOf(1), payload);
        }
        LogTestKit.AsCrashed(device);
        const string first = "segment-0000000000.log";
        using (var handle = device.Open(first))
        {
            handle.Write(1 << 20, new byte[16 << 20]); // 16 MiB from offset 1 MiB: beyond any flush's reach
            handle.SyncAll();
        }
        var error = Assert.Throws<LogCorruptException>(() => LogTestKit.Open(device, segmentBytes, flushBytesMax: 1 << 20));
        Assert.Equal(first, error.SegmentFile);
        Assert.InRange(error.Offset, (1 << 20) - LogFormat.AcceptFixedLength - payload.Length, 1 << 20); // the record the zeros begin in
    }

    private static string LogFormatName(LogAddress address) => $"segment-{address.Value / LogTestKit.SegmentBytes:D10}.log";

    private static string Snapshot(SimulatedLogDevice device) =>
        string.Join(",", LogTestKit.Segments(device).Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(device.ReadAllBytes(f)))));
}
