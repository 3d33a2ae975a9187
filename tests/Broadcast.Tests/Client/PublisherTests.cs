using AtomicBcast.Client;

namespace AtomicBcast.Tests.Client;

/// <summary>
/// The publisher against fake members that lose acknowledgements, redirect and hold answers on purpose. Timeouts are
/// failure guards only.
/// </summary>
public sealed class PublisherTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private const string ClusterId = "fake";

    private static PublisherOptions Options(FakeMember[] members, int pendingMax = 65536, int windowRuns = 4, int runMessagesMax = 50) => new()
    {
        ClusterId = ClusterId,
        Members = members.ToDictionary(m => m.Id, m => m.EndPoint),
        PreferredMember = members[0].Id,
        PendingMessagesMax = pendingMax,
        WindowRuns = windowRuns,
        RunMessagesMax = runMessagesMax,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        AckTimeout = TimeSpan.FromSeconds(2),
    };

    /// <summary>Mixed sizes: small ones share chunks, every ninth is larger than the first chunks, one is the largest allowed.</summary>
    private static byte[] Payload(int i)
    {
        int size = i == 1000 ? Limits.MessageBytesMax : i % 9 == 0 ? 20_000 + i : i % 100;
        var payload = new byte[size];
        for (int j = 0; j < size; j++) payload[j] = (byte)(i * 31 + j);
        return payload;
    }

    [Theory]
    [InlineData(0, 4, 50)]
    [InlineData(16, 0, 50)]
    [InlineData(16, 4, 0)]
    public async Task SizesOfZeroAreRefusedBeforeConnecting(int pendingMax, int windowRuns, int runMessagesMax)
    {
        // Found by review: a pending limit of 0 made every publish wait for ever, a run limit of 0 formed empty runs.
        var options = new PublisherOptions
        {
            ClusterId = ClusterId, Members = new Dictionary<ushort, System.Net.IPEndPoint> { [1] = new(System.Net.IPAddress.Loopback, 1) },
            PendingMessagesMax = pendingMax, WindowRuns = windowRuns, RunMessagesMax = runMessagesMax,
        };
        await Assert.ThrowsAsync<ArgumentException>(() => Publisher.ConnectAsync(options));
    }

    [Theory]
    [InlineData(1)] // every message with PublishAsync
    [InlineData(3)] // every third with PublishAsync, the rest with TryPublish: seqs and acknowledgements span both ways
    public async Task EveryMessageIsAcknowledgedInCallOrderAfterLostAcksAndARedirect(int everyNthWithTask)
    {
        var log = new FakeLog();
        // Member 1 answers its first three runs, commits the next two but loses their answers, then says member 2 leads.
        await using var one = await FakeMember.StartAsync(1, ClusterId, log, run => run.IndexOnConnection switch
        {
            < 3 => FakeReply.Ok,
            < 5 => new FakeReply.CommitSilently(),
            _ => new FakeReply.NotLeader(2),
        });
        await using var two = await FakeMember.StartAsync(2, ClusterId, log, _ => FakeReply.Ok);
        await using var publisher = await Publisher.ConnectAsync(Options([one, two]));

        const int count = 2000;
        var payloads = Enumerable.Range(0, count).Select(Payload).ToArray();
        var acks = new List<(int Index, Task<long> Ack)>();
        for (int i = 0; i < count; i++)
        {
            if (i % everyNthWithTask == 0)
            {
                acks.Add((i, publisher.PublishAsync(payloads[i])));
                continue;
            }
            Assert.True(publisher.TryPublish(payloads[i], out ulong seq));
            Assert.Equal((ulong)i + 1, seq); // seqs in call order over both ways, from 1
        }
        await publisher.WaitAcknowledgedAsync(count).WaitAsync(Guard);
        Assert.Equal((ulong)count, publisher.AcknowledgedThrough);

        // One caller, calls in order: FIFO gives positions in call order, each message its own, resends included.
        foreach (var (index, ack) in acks) Assert.Equal(index, await ack.WaitAsync(Guard));
        Assert.Empty(log.Violations); // every resend repeated its run's boundaries and bytes; seqs without gaps
        Assert.Equal(count, log.Messages.Count);
        for (int i = 0; i < count; i++) Assert.True(payloads[i].AsSpan().SequenceEqual(log.Messages[i]), $"message {i} arrived altered");
        // The scenario did happen: member 2 was sent runs member 1 had committed without answering.
        Assert.Contains(two.Received, r => one.Received.Any(o => o.FirstSeq == r.FirstSeq));
        Assert.True(publisher.Resends > 0);
        Assert.Equal(2, publisher.CurrentMember);
    }

    [Fact]
    public async Task ConcurrentCallersEachKeepTheirOrderAndEveryMessageIsCommittedOnce()
    {
        var log = new FakeLog();
        await using var one = await FakeMember.StartAsync(1, ClusterId, log, _ => FakeReply.Ok);
        // A small queue, so that callers also take the waiting path while others take the fast one.
        await using var publisher = await Publisher.ConnectAsync(Options([one], pendingMax: 64, windowRuns: 2, runMessagesMax: 16));
        const int callers = 4, each = 500;
        var results = await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var acks = new Task<long>[each];
            for (int i = 0; i < each; i++) acks[i] = publisher.PublishAsync(Payload(c * each + i));
            return await Task.WhenAll(acks);
        }))).WaitAsync(Guard);

        Assert.Empty(log.Violations);
        Assert.Equal(callers * each, log.Messages.Count);
        for (int c = 0; c < callers; c++)
        {
            Assert.Equal(results[c].Order(), results[c]); // one caller's calls in order: FIFO
            for (int i = 0; i < each; i++)
                Assert.True(Payload(c * each + i).AsSpan().SequenceEqual(log.Messages[(int)results[c][i]]), $"caller {c} message {i} not at its position");
        }
        Assert.Equal(callers * each, results.SelectMany(r => r).Distinct().Count());
    }

    [Fact]
    public async Task AFullQueueKeepsCallOrderAndAWithdrawnWaitingMessageIsNeverSent()
    {
        var log = new FakeLog();
        int holding = 1;
        await using var one = await FakeMember.StartAsync(1, ClusterId, log,
            _ => Volatile.Read(ref holding) == 1 ? new FakeReply.Hold() : FakeReply.Ok);
        // One run of at most two messages in flight, four queued: of the first ten calls at least four wait for room.
        await using var publisher = await Publisher.ConnectAsync(Options([one], pendingMax: 4, windowRuns: 1, runMessagesMax: 2));
        var first = Enumerable.Range(0, 10).Select(i => publisher.PublishAsync(Payload(i))).ToArray();
        using var cancel = new CancellationTokenSource();
        var withdrawn = publisher.PublishAsync("withdrawn"u8.ToArray(), cancel.Token);
        var last = publisher.PublishAsync(Payload(10));

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);
        Volatile.Write(ref holding, 0);
        await one.ReleaseHeldAsync();
        var positions = await Task.WhenAll(first.Append(last)).WaitAsync(Guard);

        Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), positions);
        Assert.DoesNotContain(log.Messages, m => m.AsSpan().SequenceEqual("withdrawn"u8));
        for (int i = 0; i < 11; i++) Assert.True(Payload(i).AsSpan().SequenceEqual(log.Messages[i]), $"message {i} arrived altered");
        Assert.Empty(log.Violations);
    }

    [Fact]
    public async Task TryPublishRefusesAFullQueueAndNothingCountsAsAcknowledgedBeforeItsAnswer()
    {
        var log = new FakeLog();
        int holding = 1;
        await using var one = await FakeMember.StartAsync(1, ClusterId, log,
            _ => Volatile.Read(ref holding) == 1 ? new FakeReply.Hold() : FakeReply.Ok);
        // One run of at most two messages in flight and four queued: six at most are taken while answers are held.
        await using var publisher = await Publisher.ConnectAsync(Options([one], pendingMax: 4, windowRuns: 1, runMessagesMax: 2));
        int accepted = 0;
        while (accepted < 100 && publisher.TryPublish(Payload(accepted), out _)) accepted++;
        Assert.InRange(accepted, 4, 6);
        var waitForFirst = publisher.WaitAcknowledgedAsync(1);
        await one.WaitForHeldAsync(1).WaitAsync(Guard); // the first run reached the member, and its answer is held
        Assert.False(waitForFirst.IsCompleted);
        Assert.Equal(0UL, publisher.AcknowledgedThrough);

        Volatile.Write(ref holding, 0);
        await one.ReleaseHeldAsync();
        await publisher.WaitAcknowledgedAsync((ulong)accepted).WaitAsync(Guard);
        Assert.True(waitForFirst.IsCompletedSuccessfully);
        Assert.True(publisher.TryPublish(Payload(accepted), out ulong next)); // room again
        Assert.Equal((ulong)accepted + 1, next);
        await publisher.WaitAcknowledgedAsync(next).WaitAsync(Guard);
        for (int i = 0; i <= accepted; i++) Assert.True(Payload(i).AsSpan().SequenceEqual(log.Messages[i]), $"message {i} arrived altered");
        Assert.Empty(log.Violations);
    }

    [Fact]
    public async Task DisposingFailsAWaitForAcknowledgementAndTryPublishThenThrows()
    {
        var log = new FakeLog();
        await using var one = await FakeMember.StartAsync(1, ClusterId, log, _ => new FakeReply.Hold());
        var publisher = await Publisher.ConnectAsync(Options([one]));
        Assert.True(publisher.TryPublish(Payload(1), out ulong seq));
        var waiting = publisher.WaitAcknowledgedAsync(seq);
        await publisher.DisposeAsync();
        await Assert.ThrowsAsync<PublishException>(() => waiting.WaitAsync(Guard));
        Assert.Equal(0UL, publisher.AcknowledgedThrough);
        Assert.Throws<ObjectDisposedException>(() => publisher.TryPublish(Payload(2), out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => publisher.WaitAcknowledgedAsync(seq));
    }

    [Fact]
    public async Task DisposingFailsEveryUnacknowledgedMessageAndRefusesNewOnes()
    {
        var log = new FakeLog();
        await using var one = await FakeMember.StartAsync(1, ClusterId, log, _ => new FakeReply.Hold());
        var publisher = await Publisher.ConnectAsync(Options([one], pendingMax: 4, windowRuns: 1, runMessagesMax: 2));
        var pending = Enumerable.Range(0, 10).Select(i => publisher.PublishAsync(Payload(i))).ToArray(); // in flight, queued, waiting
        await publisher.DisposeAsync();
        foreach (var task in pending) await Assert.ThrowsAsync<PublishException>(() => task.WaitAsync(Guard));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => publisher.PublishAsync(Payload(0)));
    }
}
