using System.Collections.Concurrent;
using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;
using Microsoft.Extensions.Logging;

namespace AtomicBcast.Tests.Storage;

/// <summary>
/// Trimmed segment files kept as spares and made into later segments. A reused file still holds the records of its
/// former life after the tail; none of them may ever be served or read as corruption, at run time, after a clean
/// close or after a crash at any point, including in the middle of making a segment from a spare.
/// </summary>
public class SpareSegmentTests
{
    private const long SegmentBytes = LogTestKit.SegmentBytes;
    private const int TerminatorBytes = 16;
    private const int HeaderBytes = 128;
    private const int EventTornTailCut = 3001, EventSegmentCreated = 3002, EventSegmentReused = 3007;

    private static GroupCommitLog Open(ILogDevice device, int sparesMax = 4, EventLog? events = null, int flushBytesMax = 16 << 10) =>
        GroupCommitLog.Open(new GroupCommitLogOptions
        {
            Device = device,
            MemberId = 3,
            ClusterId = LogTestKit.Cluster,
            SegmentBytes = SegmentBytes,
            SpareSegmentsMax = sparesMax,
            Policy = CommitPolicy.BytesOrDelay(flushBytesMax, TimeSpan.Zero),
            IndexCapacity = 1024,
            Logger = events ?? new EventLog(),
        });

    public static TheoryData<int, bool> TrimCases() => new() { { 0, false }, { 2, false }, { 4, true }, { 10, false } };

    /// <summary>
    /// A trim renames the oldest trimmed files to spare-&lt;index&gt;.seg up to the cap and deletes the rest; the next
    /// segments are made from the spares in that order (each spare name goes, no other file appears), the reused
    /// file keeps its former records only after the new tail (behind a zero terminator), what is appended reads back
    /// exactly, and nothing of the former life is served, before or after a reopen.
    /// </summary>
    [Theory]
    [MemberData(nameof(TrimCases))]
    public async Task TrimmedSegmentsBecomeSparesUpToTheCapAndTheNextSegmentsAreMadeFromThem(int sparesMax, bool belowInstance)
    {
        var device = new SimulatedLogDevice();
        var events = new EventLog();
        var model = new Model();
        ulong floor;
        List<string> expectedSpares;
        int created = 0;
        using (var log = Open(device, sparesMax, events))
        {
            await model.AppendAsync(log, 2800, Small);
            var before = LogTestKit.Segments(device);
            Assert.True(before.Length >= 7, $"only {before.Length} segments");
            if (belowInstance)
            {
                ulong firstOfSecondLast = model.FirstInstanceIn(before.Length - 2);
                floor = await log.TrimAsync(TrimRequest.BelowInstance(firstOfSecondLast));
                Assert.Equal(firstOfSecondLast, floor);
            }
            else floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes));
            string[] retained = LogTestKit.Segments(device);
            var doomed = before.Except(retained).ToList();
            Assert.True(doomed.Count >= 5, $"only {doomed.Count} segments trimmed");
            Assert.Equal(before.Take(doomed.Count), doomed);
            expectedSpares = [.. doomed.Take(sparesMax).Select(SpareOf)];
            Assert.Equal(expectedSpares, Spares(device));
            Assert.Equal(retained.Concat(expectedSpares).Order(StringComparer.Ordinal), device.ListFiles().Order(StringComparer.Ordinal));
            var formerLife = expectedSpares.ToDictionary(spare => spare, device.ReadAllBytes);
            foreach (ulong instance in model.InstancesIn(doomed.Select(IndexOf)))
                Assert.Throws<LogTrimmedException>(() => log.TryGetAccept(instance, out _, out _));

            // The new life: one segment more than there are spares, so the last one is made fresh.
            model.StartLife();
            long lastIndex = IndexOf(retained[^1]);
            while (created <= expectedSpares.Count)
            {
                var address = await model.AppendOneAsync(log, Other);
                if (Model.SegmentOf(address) == lastIndex) continue;
                lastIndex = Model.SegmentOf(address);
                created++;
                Assert.Equal(expectedSpares.Skip(created), Spares(device));
                Assert.Equal(retained.Length + created, LogTestKit.Segments(device).Length);
                Assert.Equal(LogTestKit.Segments(device).Length + Spares(device).Count, device.ListFiles().Count);
                string segment = LogFormatName(lastIndex);
                if (created <= expectedSpares.Count) Assert.Equal(1, events.Count(EventSegmentReused, segment, expectedSpares[created - 1]));
                else Assert.Equal(1, events.Count(EventSegmentCreated, segment));
            }
            AssertReusedFilesHoldTheirFormerLifeOnlyBehindTheTerminator(device, model, expectedSpares, formerLife);
            AssertServesExactly(log, model, floor);
        }
        using var reopened = Open(LogTestKit.Copy(device), sparesMax);
        AssertServesExactly(reopened, model, floor);
    }

    /// <summary>
    /// A clean close (and a crash right after the last sync) of a log whose last and earlier segments are reused
    /// files: every record comes back, the tail is where it was, nothing is reported corrupt and nothing is cut (the
    /// files are byte for byte unchanged by the open). The former records sit right where each segment's scan stops.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReopeningALogWhoseSegmentsAreReusedFilesServesEveryRecordAndKeepsEverythingUpToTheTail(bool crashed)
    {
        var (device, model, floor, spares, formerLife) = await ReusedLogAsync();
        AssertReusedFilesHoldTheirFormerLifeOnlyBehindTheTerminator(device, model, spares, formerLife);
        // The scan of a reused non-last segment stops right on former bytes (without the terminator it would meet them).
        Assert.Contains(model.Segments.Where(s => s != model.Segments[^1] && s >= model.FirstReused), s =>
            AtTail(formerLife[spares[(int)(s - model.FirstReused)]], model.EndIn(s)).ContainsAnyExcept((byte)0));

        var image = LogTestKit.Copy(device);
        if (crashed) LogTestKit.AsCrashed(image);
        string before = Snapshot(image, model.Tail);
        var events = new EventLog();
        using (var log = Open(image, events: events))
        {
            Assert.Equal(0, events.Count(EventTornTailCut));
            // After a crash nothing says the last flush was whole: what its reach may have left after the tail is
            // cleared (former-life bytes, here), silently since nothing was torn. Everything up to the tail stays.
            Assert.Equal(before, Snapshot(image, model.Tail));
            string last = LogFormatName(model.Tail);
            var tail = image.ReadAllBytes(last).AsSpan((int)(model.Tail % SegmentBytes));
            if (crashed) Assert.False(tail.ContainsAnyExcept((byte)0), "bytes after the tail of a crashed log are not cleared");
            else Assert.True(tail[LogFormat.RecordHeaderBytes..].ContainsAnyExcept((byte)0), "a cleanly closed log's tail was rewritten");
            Assert.Equal(model.Tail, log.Tail.Value);
            Assert.Equal(model.Tail, log.DurableUntil.Value);
            AssertServesExactly(log, model, floor);
            await model.AppendAsync(log, 5, Small);
            await model.AppendOneAsync(log, (_, _) => new byte[SegmentBytes - HeaderBytes - 32 - 8]); // always starts a new segment
            await model.AppendAsync(log, 5, Small);
        }
        using var again = Open(LogTestKit.AsCrashed(LogTestKit.Copy(image)));
        AssertServesExactly(again, model, floor);
    }

    public static TheoryData<int> CrashSeeds() => [.. Enumerable.Range(1, 32)];

    /// <summary>
    /// RecoveryTests' crash property with trims recycling the segments while appenders run: a crash at a random
    /// sync keeps every acknowledged record at or above the recovered floor, intact, serves only a prefix, never a
    /// former-life record, and what recovery cut does not come back after new appends and another reopen.
    /// </summary>
    [Theory]
    [MemberData(nameof(CrashSeeds))]
    public Task CrashAtARandomSyncWhileTrimsRecycleSegmentsKeepsEveryAcknowledgedRecord(int seed) =>
        CrashWhileRecyclingAsync(seed, rollAfterReopen: false);

    /// <summary>
    /// The same, but the first record after the reopen starts a new segment, so the recovered tail becomes the end
    /// of a segment that later segments follow. The cut after the stop leaves a terminator there (it failed for 14 of 32 seeds when the cut cleared only whole records).
    /// </summary>
    [Theory]
    [MemberData(nameof(CrashSeeds))]
    public Task CrashWhileTrimsRecycleSegmentsThenANewSegmentKeepsTheLogOpenable(int seed) =>
        CrashWhileRecyclingAsync(seed, rollAfterReopen: true);

    private static async Task CrashWhileRecyclingAsync(int seed, bool rollAfterReopen)
    {
        var random = new Random(seed);
        var device = new SimulatedLogDevice();
        var events = new EventLog();
        int sparesMax = 1 + seed % 3;
        var appended = new ConcurrentDictionary<ulong, LogAddress>();
        var acknowledged = new ConcurrentDictionary<ulong, bool>();
        var floors = new ConcurrentBag<ulong>();
        HashSet<ulong>? acknowledgedAtCrash = null;
        ulong floorAtCrash = 0, floorReturned = 0;
        int reusedAtCrash = 0;
        var crashed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var log = Open(device, sparesMax, events, flushBytesMax: 4096 * (1 + seed % 3)))
        {
            // Late enough that trims have turned segments into spares and new segments were made from them.
            device.CrashAtSync(random.Next(220, 420), new Random(seed), keepUnsyncedProbability: random.NextDouble(), onCrash: () =>
            {
                acknowledgedAtCrash = [.. acknowledged.Keys];
                floorAtCrash = Interlocked.Read(ref floorReturned);
                reusedAtCrash = events.Count(EventSegmentReused);
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
                    for (int i = appenderRandom.Next(1, seed % 2 == 0 ? 8 : 60); i > 0; i--)
                    {
                        ulong instance = (ulong)Interlocked.Increment(ref next);
                        while (!log.TryAppendAccept(instance, LogTestKit.BallotOf(1), LogTestKit.Payload(seed, instance, 1500), out last))
                            await Task.Yield();
                        appended[instance] = last;
                        mine.Add(instance);
                    }
                    await log.WaitForDurableAsync(last);
                    foreach (ulong instance in mine) acknowledged[instance] = true;
                    // Each appender trims after each of its bursts: one segment kept, the rest spares or deleted.
                    ulong floor = await log.TrimAsync(TrimRequest.RetainBytes(SegmentBytes));
                    floors.Add(floor);
                    InterlockedMax(ref floorReturned, floor);
                }
            }
            var appenders = Enumerable.Range(0, 4).Select(id => Task.Run(() => Appender(id))).ToArray();
            await crashed.Task;
            await Task.WhenAll(appenders);
        }
        Assert.NotNull(device.CrashImage);
        Assert.True(reusedAtCrash > 0, $"no segment was made from a spare before the crash (seed {seed})");

        var reopened = Open(device.CrashImage, sparesMax);
        ulong recoveredFloor = reopened.EarliestRetainedInstance;
        Assert.True(recoveredFloor >= floorAtCrash, $"floor {recoveredFloor} below the floor {floorAtCrash} of a finished trim");
        Assert.True(recoveredFloor <= floors.DefaultIfEmpty(0UL).Max(), $"floor {recoveredFloor} above every trim's floor");
        var live = appended.Where(pair => pair.Key >= recoveredFloor).OrderBy(pair => pair.Value).ToList();
        var served = new Dictionary<ulong, byte[]>();
        foreach (var (instance, _) in live)
            if (reopened.TryReadAccept(instance, out var ballot, out var batch))
            {
                Assert.Equal(LogTestKit.BallotOf(1), ballot);
                served[instance] = batch.Span.ToArray();
                batch.Release();
            }
        Assert.NotEmpty(served);
        foreach (ulong instance in acknowledgedAtCrash!.Where(i => i >= recoveredFloor))
            Assert.True(served.ContainsKey(instance), $"acknowledged instance {instance} lost (seed {seed})");
        foreach (var (instance, bytes) in served) Assert.Equal(LogTestKit.Payload(seed, instance, 1500), bytes);
        int firstMissing = live.FindIndex(pair => !served.ContainsKey(pair.Key));
        Assert.True(firstMissing < 0 || !live.Skip(firstMissing).Any(pair => served.ContainsKey(pair.Key)),
            $"record served after a torn point (seed {seed})");
        Assert.Equal(served.Keys.Max(), reopened.HighestInstance); // no record of a former life in the index
        Assert.Equal(reopened.Tail, reopened.DurableUntil);

        // The cut tail never comes back: append, reopen, and the new records follow the old prefix exactly.
        if (rollAfterReopen) await reopened.AppendAcceptAsync(1_000_001, LogTestKit.BallotOf(2), new byte[RecordThatDoesNotFit(reopened.Tail)]);
        await reopened.AppendAcceptAsync(1_000_000, LogTestKit.BallotOf(2), new byte[] { 42 });
        reopened.Dispose();
        using var again = Open(LogTestKit.Copy(device.CrashImage), sparesMax);
        Assert.True(again.TryGetAccept(1_000_000, out _, out _));
        foreach (var (instance, _) in live) Assert.Equal(served.ContainsKey(instance), again.TryGetAccept(instance, out _, out _));
    }

    public static TheoryData<int, int> AdoptCases() => new() { { 4, 3 }, { 2, 2 }, { 0, 0 } };

    /// <summary>
    /// Spares left by a trim survive a clean close and the reopened log makes its next segments from them (up to its
    /// own cap, in name order); a spare of the wrong length, and any beyond the cap, are deleted at open.
    /// </summary>
    [Theory]
    [MemberData(nameof(AdoptCases))]
    public async Task SparesLeftByATrimAreAdoptedAtReopenAndUsedForTheNextSegments(int reopenSparesMax, int adopted)
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        ulong floor;
        using (var log = Open(device, sparesMax: 3))
        {
            await model.AppendAsync(log, 2000, Small);
            floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes));
        }
        var spares = Spares(device);
        Assert.Equal(3, spares.Count);
        var formerLife = spares.ToDictionary(spare => spare, device.ReadAllBytes);
        const string shortSpare = "spare-0000000099.seg"; // sorts after the real ones: its length, not the cap, removes it
        using (var file = device.Create(shortSpare, SegmentBytes - 4096)) file.SyncAll();
        device.SyncDirectory();

        var events = new EventLog();
        using (var log = Open(device, reopenSparesMax, events))
        {
            Assert.Equal(spares.Take(adopted), Spares(device));
            AssertServesExactly(log, model, floor);
            model.StartLife();
            long lastIndex = model.Segments[^1];
            for (int created = 0; created <= adopted;)
            {
                var address = await model.AppendOneAsync(log, Other);
                if (Model.SegmentOf(address) == lastIndex) continue;
                lastIndex = Model.SegmentOf(address);
                created++;
                Assert.Equal(spares.Take(adopted).Skip(created), Spares(device));
                Assert.Equal(LogTestKit.Segments(device).Length + Spares(device).Count, device.ListFiles().Count);
                if (created <= adopted) Assert.Equal(1, events.Count(EventSegmentReused, LogFormatName(lastIndex), spares[created - 1]));
                else Assert.Equal(1, events.Count(EventSegmentCreated, LogFormatName(lastIndex)));
            }
            AssertReusedFilesHoldTheirFormerLifeOnlyBehindTheTerminator(device, model, [.. spares.Take(adopted)], formerLife);
            AssertServesExactly(log, model, floor);
        }
        using var again = Open(LogTestKit.Copy(device), reopenSparesMax);
        AssertServesExactly(again, model, floor);
    }

    public static TheoryData<int, int, double> CreationCrashes() => new()
    {
        { 1, 1, 0.0 }, { 1, 2, 1.0 }, { 2, 3, 0.0 }, { 2, 4, 0.5 }, { 2, 5, 1.0 }, { 2, 6, 0.7 },
    };

    /// <summary>
    /// A power cut while a segment is made from a spare: at the sync of its new header (the rename from the spare
    /// not yet durable), or at the first flush into it (the segment durable, its records torn over the former
    /// life). The log opens with every acknowledged record, serves only a prefix, keeps the spares it still has,
    /// and goes on making segments from them.
    /// </summary>
    [Theory]
    [MemberData(nameof(CreationCrashes))]
    public async Task CrashWhileMakingASegmentFromASpareKeepsEveryAcknowledgedRecord(int syncAfterRoll, int seed, double keep)
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        ulong floor;
        List<string> spares;
        using (var log = Open(device))
        {
            await model.AppendAsync(log, 2000, Small);
            floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes));
            spares = Spares(device);
            Assert.Equal(4, spares.Count);
            while (!Model.Rolls(log.Tail, LogTestKit.Payload(seed, model.Next).Length)) await model.AppendOneAsync(log, (i, _) => LogTestKit.Payload(seed, i));
            device.CrashAtSync(device.SyncCount + syncAfterRoll, new Random(seed), keep);
            model.Unacknowledged(await model.AppendOneAsync(log, (i, _) => LogTestKit.Payload(seed, i)));
            await model.AppendAsync(log, 10, (i, _) => LogTestKit.Payload(seed, i));
        }
        var image = device.CrashImage;
        Assert.NotNull(image);
        string newSegment = LogFormatName(model.Segments[^1]);
        Assert.Equal(syncAfterRoll == 2, image.ListFiles().Contains(newSegment));
        Assert.DoesNotContain(image.ListFiles(), name => name.EndsWith(".tmp", StringComparison.Ordinal));

        var events = new EventLog();
        using (var log = Open(image, events: events))
        {
            var adopted = Spares(image);
            Assert.Equal(spares.Skip(syncAfterRoll == 1 ? 0 : 1), adopted);
            model.ForgetUnserved(log);
            Assert.Equal(log.Tail, log.DurableUntil);
            AssertServesExactly(log, model, floor);
            // Two more segments: the first from the spare that comes first now.
            long lastIndex = (long)((log.Tail.Value - 1) / SegmentBytes);
            long firstCreated = lastIndex + 1;
            for (int created = 0; created < 2;)
            {
                var address = await model.AppendOneAsync(log, Other);
                if (Model.SegmentOf(address) == lastIndex) continue;
                lastIndex = Model.SegmentOf(address);
                created++;
            }
            Assert.Equal(1, events.Count(EventSegmentReused, LogFormatName(firstCreated), adopted[0]));
            AssertServesExactly(log, model, floor);
        }
        using var again = Open(LogTestKit.AsCrashed(LogTestKit.Copy(image)));
        AssertServesExactly(again, model, floor);
    }

    /// <summary>
    /// A crash that left a temporary segment behind after a directory sync had made it durable (a spare renamed to
    /// segment-N.log.tmp with its new header, the rename to segment-N.log not done): open deletes it, every record
    /// is there, and the other spares are still used.
    /// </summary>
    [Fact]
    public async Task ATemporarySegmentLeftByACrashIsDeletedAtOpen()
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        ulong floor;
        using (var log = Open(device))
        {
            await model.AppendAsync(log, 2000, Small);
            floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes));
        }
        var spares = Spares(device);
        string temporary = LogFormatName(model.Segments[^1] + 1) + ".tmp";
        device.Rename(spares[0], temporary);
        using (var file = device.Open(temporary))
        {
            var header = new byte[HeaderBytes + TerminatorBytes];
            LogFormat.WriteHeader(header.AsSpan(0, HeaderBytes), model.Segments[^1] + 1, SegmentBytes, 0, 3, LogTestKit.Cluster);
            file.Write(0, header);
            file.SyncAll();
        }
        device.SyncDirectory();
        var image = LogTestKit.AsCrashed(LogTestKit.Copy(device));

        var events = new EventLog();
        using (var log = Open(image, events: events))
        {
            Assert.DoesNotContain(temporary, image.ListFiles());
            Assert.Equal(spares.Skip(1), Spares(image));
            AssertServesExactly(log, model, floor);
            long lastIndex = model.Segments[^1];
            while (Model.SegmentOf(await model.AppendOneAsync(log, Other)) == lastIndex) { }
            Assert.Equal(1, events.Count(EventSegmentReused, LogFormatName(lastIndex + 1), spares[1]));
        }
        using var again = Open(LogTestKit.Copy(image));
        AssertServesExactly(again, model, floor);
    }

    /// <summary>
    /// When the directory sync of a trim fails, its renames may still be undone by a crash, so its files must not
    /// become segments: the next segment is made fresh, and a crash at its first sync finds every trimmed file
    /// intact under its old name (the trim record is durable, so the floor stays).
    /// </summary>
    [Fact]
    public async Task SparesOfATrimWhoseDirectorySyncFailedAreNotReused()
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        var events = new EventLog();
        ulong floor;
        using (var log = Open(device, events: events))
        {
            await model.AppendAsync(log, 2000, Small);
            device.FailNextDirectorySyncs(1);
            await Assert.ThrowsAsync<IOException>(() => log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes)));
            floor = log.EarliestRetainedInstance;
            Assert.True(floor > 0);
            Assert.NotEmpty(Spares(device));
            while (!Model.Rolls(log.Tail, Small(model.Next, 0).Length)) await model.AppendOneAsync(log, Small);
            device.CrashAtSync(device.SyncCount + 1, new Random(1), 1.0); // the sync of the new segment's header, its write kept
            await model.AppendOneAsync(log, Small);
        }
        var image = device.CrashImage!;
        Assert.Contains("segment-0000000000.log", image.ListFiles());
        model.DropLast();
        using (var reopened = Open(image))
        {
            Assert.Equal(floor, reopened.EarliestRetainedInstance);
            AssertServesExactly(reopened, model, floor);
        }
        Assert.Equal(0, events.Count(EventSegmentReused));
    }

    /// <summary>
    /// A torn flush left a whole record behind the torn one. Recovery cuts both (zeros up to the end of the whole
    /// one); the next record does not fit in the rest of the segment and starts a new one, so the old segment is
    /// followed by another: it must end at the recovered tail, and neither record may come back.
    /// </summary>
    [Fact]
    public async Task AWholeRecordBehindATornOneIsClearedSoALaterSegmentCanFollow()
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        var filler = new byte[200]; // 232-byte records: 216 bytes are left in the segment when the next would not fit
        var small = new byte[40];   // 72-byte records
        LogAddress torn;
        using (var log = Open(device))
        {
            while (!Model.Rolls(log.Tail, filler.Length)) await model.AppendOneAsync(log, (_, _) => filler);
            // Park the flusher in a sync so the two small records wait in the same buffer: one flush.
            device.HoldSyncs();
            Assert.True(log.TryAppendPromise(LogTestKit.BallotOf(1), out _));
            Assert.True(device.WaitUntilSyncHeld(TimeSpan.FromMinutes(1)));
            Assert.True(log.TryAppendAccept(99_998, LogTestKit.BallotOf(1), small, out torn));
            Assert.True(log.TryAppendAccept(99_999, LogTestKit.BallotOf(1), small, out var behind));
            device.ReleaseSyncs();
            await log.WaitForDurableAsync(behind);
            Assert.Equal(Model.SegmentOf(torn), Model.SegmentOf(behind));
        }
        device.FlipBit(LogTestKit.LastSegment(device), (long)(torn.Value % SegmentBytes) + 40, 0);
        LogTestKit.AsCrashed(device);
        using (var log = Open(device))
        {
            Assert.Equal(torn, log.Tail);
            AssertServesExactly(log, model, 0);
            Assert.True(Model.Rolls(log.Tail, filler.Length));
            await model.AppendOneAsync(log, (_, _) => filler);
        }
        using var again = Open(LogTestKit.AsCrashed(LogTestKit.Copy(device)));
        Assert.Equal(2, LogTestKit.Segments(device).Length);
        AssertServesExactly(again, model, 0);
        Assert.False(again.TryGetAccept(99_999, out _, out _));
    }

    public enum Tear { FailedWrite, FileCutShort }

    /// <summary>
    /// A crash tore the last record: its header reached the disk and its body did not (a write that failed part way,
    /// or a file whose new length was lost). Recovery stops there, and the next record does not fit in the rest of
    /// the segment, so it starts a new one. The old segment now ends at the recovered tail with a later segment
    /// after it, and it must read as ended there, not as corrupt.
    /// </summary>
    [Theory]
    [InlineData(Tear.FailedWrite)]
    [InlineData(Tear.FileCutShort)]
    public async Task ATornRecordLeftAtTheTailIsNotCorruptionOnceTheNextRecordStartsANewSegment(Tear tear)
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        var filler = new byte[200]; // 232-byte records: 216 bytes are left in the segment when the next would not fit
        SimulatedLogDevice image;
        using (var log = Open(device))
        {
            while (!Model.Rolls(log.Tail, filler.Length)) await model.AppendOneAsync(log, (_, _) => filler);
            if (tear == Tear.FailedWrite)
            {
                device.FailNextWrites(1, tornBytes: 24); // a 96-byte record's header and 8 bytes of its body, unsynced
                await Assert.ThrowsAsync<LogFailedException>(async () => await log.AppendAcceptAsync(99_999, LogTestKit.BallotOf(1), new byte[64]));
            }
            else await log.AppendAcceptAsync(99_999, LogTestKit.BallotOf(1), new byte[64]);
        }
        if (tear == Tear.FailedWrite) image = device.Crash(new Random(1), keepUnsyncedProbability: 1.0);
        else
        {
            image = LogTestKit.AsCrashed(device);
            image.Truncate(LogTestKit.LastSegment(image), (long)(model.Tail % SegmentBytes) + 24);
        }
        using (var log = Open(image))
        {
            Assert.Equal(model.Tail, log.Tail.Value);
            AssertServesExactly(log, model, 0);
            var address = await model.AppendOneAsync(log, (_, _) => filler); // 232 bytes: does not fit, a new segment
            Assert.Equal(1, Model.SegmentOf(address));
        }
        using var again = Open(LogTestKit.AsCrashed(LogTestKit.Copy(image)));
        AssertServesExactly(again, model, 0);
    }

    // ---- the model of what was appended ----

    private static byte[] Small(ulong instance, int life) => LogTestKit.Payload(17 + life, instance);

    private static byte[] Other(ulong instance, int life) => LogTestKit.Payload(23 + life, instance, lengthMax: 500);

    /// <summary>Big records (2000 bytes) end each segment far from where the small records of a former life did.</summary>
    private static byte[] Big(ulong instance, int life)
    {
        var bytes = new byte[2000 - 32];
        new Random(unchecked((int)instance * 7 + life)).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The payload of an accept longer than the rest of the tail's segment; at an empty segment's start, one that fills it.</summary>
    private static int RecordThatDoesNotFit(LogAddress tail)
    {
        long offset = (long)(tail.Value % SegmentBytes);
        long rest = offset == 0 ? 0 : SegmentBytes - offset;
        return (int)Math.Clamp(rest - 31, 0, SegmentBytes - HeaderBytes - 32);
    }

    /// <summary>A log of 2800 small records trimmed to 2 segments (4 spares), then 4 segments of big records made from the spares.</summary>
    private static async Task<(SimulatedLogDevice, Model, ulong, List<string>, Dictionary<string, byte[]>)> ReusedLogAsync()
    {
        var device = new SimulatedLogDevice();
        var model = new Model();
        using var log = Open(device, sparesMax: 4);
        await model.AppendAsync(log, 2800, Small);
        ulong floor = await log.TrimAsync(TrimRequest.RetainBytes(2 * SegmentBytes));
        var spares = Spares(device);
        Assert.Equal(4, spares.Count);
        var formerLife = spares.ToDictionary(spare => spare, device.ReadAllBytes);
        model.StartLife();
        long first = model.Segments[^1] + 1;
        while (model.Segments[^1] < first + 3 || model.CountIn(first + 3) < 5) await model.AppendOneAsync(log, Big);
        Assert.Empty(Spares(device));
        return (device, model, floor, spares, formerLife);
    }

    /// <summary>
    /// Each segment made from a spare holds, after its last record: the 16-byte terminator (zeros), then exactly the
    /// spare's former bytes (the file was reused, only its header and the new records written); and at least one of
    /// them still has former records there (the check is not vacuous).
    /// </summary>
    private static void AssertReusedFilesHoldTheirFormerLifeOnlyBehindTheTerminator(SimulatedLogDevice device, Model model,
        List<string> spares, Dictionary<string, byte[]> formerLife)
    {
        bool formerRecordsBehind = false;
        for (int i = 0; i < spares.Count; i++)
        {
            long index = model.FirstReused + i;
            var bytes = device.ReadAllBytes(LogFormatName(index));
            var former = formerLife[spares[i]];
            Assert.Equal(SegmentBytes, bytes.Length);
            int end = (int)model.EndIn(index);
            int behind = end;
            if (end + TerminatorBytes <= SegmentBytes)
            {
                Assert.False(bytes.AsSpan(end, TerminatorBytes).ContainsAnyExcept((byte)0), $"no terminator after the last record of segment {index}");
                behind += TerminatorBytes;
            }
            Assert.True(bytes.AsSpan(behind).SequenceEqual(former.AsSpan(behind)), $"segment {index} is not the spare {spares[i]} reused");
            formerRecordsBehind |= former.AsSpan(behind).ContainsAnyExcept((byte)0);
        }
        Assert.True(spares.Count == 0 || formerRecordsBehind, "no former record is left behind any tail");
    }

    /// <summary>The log serves exactly the model's accepts at or above the floor, and nothing below it.</summary>
    private static void AssertServesExactly(GroupCommitLog log, Model model, ulong floor)
    {
        Assert.Equal(floor, log.EarliestRetainedInstance);
        var expected = model.Accepts.Where(pair => pair.Key >= floor).OrderBy(pair => pair.Key).ToList();
        var all = LogTestKit.ReadAll(log, floor);
        Assert.Equal(expected.Select(pair => pair.Key), all.Select(a => a.Instance));
        for (int i = 0; i < all.Count; i++)
        {
            Assert.Equal(LogTestKit.BallotOf(1), all[i].Ballot);
            Assert.True(expected[i].Value.AsSpan().SequenceEqual(all[i].Batch), $"instance {all[i].Instance} reads back different bytes");
        }
        Assert.Equal(expected.Count == 0 ? null : expected[^1].Key, log.HighestInstance);
        if (floor > 0)
        {
            Assert.Throws<LogTrimmedException>(() => log.TryGetAccept(floor - 1, out _, out _));
            Assert.Throws<LogTrimmedException>(() => log.ReadAccepts(0));
        }
    }

    /// <summary>The bytes where a record header would follow a segment's last record (fewer at the segment's end).</summary>
    private static ReadOnlySpan<byte> AtTail(byte[] segment, long end) =>
        segment.AsSpan((int)end, (int)Math.Min(TerminatorBytes, SegmentBytes - end));

    private static List<string> Spares(SimulatedLogDevice device) =>
        [.. device.ListFiles().Where(n => n.StartsWith("spare-", StringComparison.Ordinal) && n.EndsWith(".seg", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static long IndexOf(string segment) => long.Parse(segment.AsSpan(8, 10));

    private static string SpareOf(string segment) => $"spare-{segment.AsSpan(8, 10)}.seg";

    private static string LogFormatName(long index) => $"segment-{index:D10}.log";

    private static string Snapshot(SimulatedLogDevice device) =>
        string.Join(",", device.ListFiles().Where(f => f != CleanCloseMarker.FileName).Order(StringComparer.Ordinal)
            .Select(f => f + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(device.ReadAllBytes(f)))));

    /// <summary>Every file's bytes, the tail's segment only up to <paramref name="tail"/>.</summary>
    private static string Snapshot(SimulatedLogDevice device, ulong tail) =>
        string.Join(",", device.ListFiles().Where(f => f != CleanCloseMarker.FileName).Order(StringComparer.Ordinal)
            .Select(f => f + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
                f == LogFormatName(tail) ? device.ReadAllBytes(f).AsSpan(0, (int)(tail % SegmentBytes)) : device.ReadAllBytes(f)))));

    private static string LogFormatName(ulong address) => $"segment-{address / SegmentBytes:D10}.log";

    private static void InterlockedMax(ref ulong target, ulong value)
    {
        ulong seen = Interlocked.Read(ref target);
        while (value > seen)
        {
            ulong previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen) return;
            seen = previous;
        }
    }

    /// <summary>What a single appender appended, in order: accepts (ballot 1), where each went, where each segment ends.</summary>
    private sealed class Model
    {
        private readonly List<(ulong Instance, LogAddress Address, int Padded)> _records = [];
        private readonly HashSet<ulong> _unacknowledged = [];
        private int _life;

        public Dictionary<ulong, byte[]> Accepts { get; } = [];
        public ulong Next { get; private set; }
        public long FirstReused { get; private set; } = -1;
        public ulong Tail => _records.Count == 0 ? 0 : _records[^1].Address.Value + (ulong)_records[^1].Padded;
        public List<long> Segments => [.. _records.Select(r => SegmentOf(r.Address)).Distinct()];

        public static long SegmentOf(LogAddress address) => (long)(address.Value / SegmentBytes);

        /// <summary>Whether a record with this payload, appended at <paramref name="tail"/>, starts a new segment.</summary>
        public static bool Rolls(LogAddress tail, int payloadBytes)
        {
            long offset = (long)(tail.Value % SegmentBytes);
            return offset == 0 || offset + Align(32 + payloadBytes) > SegmentBytes;
        }

        public async Task AppendAsync(GroupCommitLog log, int count, Func<ulong, int, byte[]> payload)
        {
            for (int i = 0; i < count; i++) await AppendOneAsync(log, payload);
        }

        public async Task<LogAddress> AppendOneAsync(GroupCommitLog log, Func<ulong, int, byte[]> payload)
        {
            ulong instance = Next++;
            var bytes = payload(instance, _life);
            var address = await log.AppendAcceptAsync(instance, LogTestKit.BallotOf(1), bytes);
            if (FirstReused < 0 && _life > 0 && _records.Count > 0 && SegmentOf(address) != SegmentOf(_records[^1].Address)) FirstReused = SegmentOf(address);
            _records.Add((instance, address, Align(32 + bytes.Length)));
            Accepts[instance] = bytes;
            return address;
        }

        /// <summary>Records appended from now on are a new life (their payloads differ from the former one's).</summary>
        public void StartLife() => _life++;

        public void Unacknowledged(LogAddress address) => _unacknowledged.Add(_records.Single(r => r.Address == address).Instance);

        public void DropLast()
        {
            Accepts.Remove(_records[^1].Instance);
            _records.RemoveAt(_records.Count - 1);
        }

        /// <summary>
        /// After a crash: records the log no longer serves leave the model. Only records appended at or after the
        /// first one not acknowledged may go, and they go as a suffix.
        /// </summary>
        public void ForgetUnserved(GroupCommitLog log)
        {
            int first = _records.FindIndex(r => _unacknowledged.Contains(r.Instance));
            Assert.True(first >= 0);
            int kept = first;
            while (kept < _records.Count && log.TryGetAccept(_records[kept].Instance, out _, out _)) kept++;
            for (int i = kept; i < _records.Count; i++)
                Assert.False(log.TryGetAccept(_records[i].Instance, out _, out _), $"instance {_records[i].Instance} served after a lost one");
            for (int i = kept; i < _records.Count; i++) Accepts.Remove(_records[i].Instance);
            _records.RemoveRange(kept, _records.Count - kept);
            Next = _records[^1].Instance + 1;
        }

        public ulong FirstInstanceIn(int segmentPosition)
        {
            long index = Segments[segmentPosition];
            return _records.First(r => SegmentOf(r.Address) == index).Instance;
        }

        public IEnumerable<ulong> InstancesIn(IEnumerable<long> segments)
        {
            var set = segments.ToHashSet();
            return _records.Where(r => set.Contains(SegmentOf(r.Address))).Select(r => r.Instance);
        }

        public int CountIn(long segment) => _records.Count(r => SegmentOf(r.Address) == segment);

        /// <summary>The offset in its segment where the last record of the segment ends (the last flush's end).</summary>
        public long EndIn(long segment)
        {
            var last = _records.Last(r => SegmentOf(r.Address) == segment);
            return (long)(last.Address.Value % SegmentBytes) + last.Padded;
        }

        private static int Align(int length) => (length + 7) & ~7;
    }

    /// <summary>Keeps the log's events (id and message) to check which segments were made from spares and what was cut.</summary>
    private sealed class EventLog : ILogger
    {
        private readonly List<(int Id, string Message)> _events = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_events) _events.Add((eventId.Id, formatter(state, exception)));
        }

        /// <summary>Events with this id whose message names every one of <paramref name="words"/>.</summary>
        public int Count(int id, params string[] words)
        {
            lock (_events) return _events.Count(e => e.Id == id && words.All(w => e.Message.Contains(w, StringComparison.Ordinal)));
        }
    }
}
