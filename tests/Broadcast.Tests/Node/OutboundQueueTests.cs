using System.IO.Pipelines;
using AtomicBcast.Node;
using AtomicBcast.Tests.Wire;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Node.OutboundQueueTestKit;

namespace AtomicBcast.Tests.Node;

public sealed class OutboundQueueTests
{
    private const int PauseBytes = 1 << 20;

    /// <summary>
    /// A long queue to a peer that does not read (a follower behind on its disk) must not be copied whole into pipe
    /// memory: the drain flushes at a byte budget, and the flush waits at the pipe's pause threshold. Before the fix the
    /// whole queue (16 MiB here; GBs of retransmitted 1 MiB accepts in the field) was written before the first flush.
    /// </summary>
    [Fact]
    public async Task DrainingALongQueueStopsAtThePipesPauseThreshold()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PauseBytes, resumeWriterThreshold: PauseBytes / 2, useSynchronizationContext: false));
        var queue = new OutboundQueue(1024);
        var batch = WireTestKit.Batch(1, 16, 4096, false); // about 64 KiB
        const int count = 256;
        for (int i = 0; i < count; i++) Assert.True(queue.TryEnqueue(new AcceptMessage(Ballot.Create(1, 1), i, -1, batch)));
        using var stop = new CancellationTokenSource();

        // Nothing reads yet: DrainAsync runs synchronously up to the first flush that has to wait.
        var drain = queue.DrainAsync(new PipeConnection(pipe.Writer), stop.Token);
        Assert.False(drain.IsCompleted);
        Assert.True(pipe.Reader.TryRead(out var buffered));
        Assert.InRange(buffered.Buffer.Length, PauseBytes, 2 * PauseBytes + batch.Length + 64);
        pipe.Reader.AdvanceTo(buffered.Buffer.Start);

        // Reading lets the drain go on until every message was written.
        queue.Complete();
        long total = 0;
        var reading = Task.Run(async () =>
        {
            while (true)
            {
                var read = await pipe.Reader.ReadAsync();
                total += read.Buffer.Length;
                pipe.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) return;
            }
        });
        await drain.WaitAsync(TimeSpan.FromSeconds(30)); // failure guard only
        await pipe.Writer.CompleteAsync();
        await reading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(total >= (long)count * batch.Length, $"{total} bytes read");
    }

    [Fact]
    public async Task AFullQueueRefusesCountsAndReleases()
    {
        var queue = new OutboundQueue(2);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        Assert.True(queue.TryEnqueue(Accept(0, batch)));
        Assert.True(queue.TryEnqueue(Accept(1, batch)));
        Assert.False(queue.TryEnqueue(Accept(2, batch)));
        Assert.Equal(1, queue.Dropped);
        Assert.Equal(3, batch.References); // ours and the two queued

        queue.Complete();
        var writer = new RecordingWriter();
        await queue.DrainAsync(new PipeConnection(writer), CancellationToken.None).WaitAsync(Guard);
        Assert.Equal([0L, 1L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    [Fact]
    public async Task TheRingWrapsAroundInOrder()
    {
        var queue = new OutboundQueue(3);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new RecordingWriter();
        using var stop = new CancellationTokenSource();
        var drain = queue.DrainAsync(new PipeConnection(writer), stop.Token);
        for (int i = 0; i < 10; i++)
        {
            // Two at a time into a ring of three: head and tail pass the end of the array again and again.
            Assert.True(queue.TryEnqueue(Accept(2 * i, batch)));
            Assert.True(queue.TryEnqueue(Accept(2 * i + 1, batch)));
            await WaitUntil(() => WholeFramesWritten(writer) == 2 * i + 2);
        }
        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), WrittenInstances(writer));
        Assert.Equal(0, queue.Dropped);
        Assert.Equal(1, batch.References);
    }

    /// <summary>As a Channel's TryComplete: what was queued before Complete is still written; what comes after is refused.</summary>
    [Fact]
    public async Task CompleteRefusesNewMessagesAndStillDrainsQueuedOnes()
    {
        var queue = new OutboundQueue(4);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        Assert.True(queue.TryEnqueue(Accept(0, batch)));
        Assert.True(queue.TryEnqueue(Accept(1, batch)));
        queue.Complete();
        Assert.False(queue.TryEnqueue(Accept(2, batch)));
        Assert.Equal(1, queue.Dropped);
        Assert.Equal(3, batch.References);

        var writer = new RecordingWriter();
        await queue.DrainAsync(new PipeConnection(writer), CancellationToken.None).WaitAsync(Guard);
        Assert.Equal([0L, 1L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
        Assert.False(queue.TryEnqueue(Accept(3, batch)));
        Assert.Equal(2, queue.Dropped);
        Assert.Equal(1, batch.References);
    }

    [Fact]
    public async Task AWaitingDrainWakesForAMessageAndForComplete()
    {
        var queue = new OutboundQueue(4);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new RecordingWriter();
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        Assert.False(drain.IsCompleted); // nothing queued: it waits

        Assert.True(queue.TryEnqueue(Accept(0, batch)));
        await WaitUntil(() => WholeFramesWritten(writer) == 1);
        Assert.False(drain.IsCompleted);
        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal([0L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    /// <summary>A peer's queue outlives the connection: cancelling one drain wakes it, and the next drain goes on.</summary>
    [Fact]
    public async Task CancellationWakesAWaitingDrainAndTheQueueServesTheNextOne()
    {
        var queue = new OutboundQueue(4);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        using (var stop = new CancellationTokenSource())
        {
            var waiting = queue.DrainAsync(new PipeConnection(new RecordingWriter()), stop.Token);
            Assert.False(waiting.IsCompleted);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Guard));
        }

        Assert.True(queue.TryEnqueue(Accept(7, batch)));
        queue.Complete();
        var writer = new RecordingWriter();
        using var next = new CancellationTokenSource();
        await queue.DrainAsync(new PipeConnection(writer), next.Token).WaitAsync(Guard);
        Assert.Equal([7L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    [Fact]
    public async Task AnAlreadyCancelledDrainThrowsAndReleasesWhatIsQueued()
    {
        var queue = new OutboundQueue(4);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        Assert.True(queue.TryEnqueue(Accept(0, batch)));
        var writer = new RecordingWriter();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.DrainAsync(new PipeConnection(writer), new CancellationToken(true)));
        Assert.Empty(WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    /// <summary>A connection whose flush reports completed ends the drain; what was queued meanwhile is released.</summary>
    [Fact]
    public async Task ACompletedFlushEndsTheDrainAndReleasesTheRest()
    {
        var queue = new OutboundQueue(4);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new RecordingWriter { FlushGate = new TaskCompletionSource<FlushResult>() };
        Assert.True(queue.TryEnqueue(Accept(0, batch)));
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        Assert.False(drain.IsCompleted); // in the flush after message 0
        Assert.True(queue.TryEnqueue(Accept(1, batch)));
        Assert.True(queue.TryEnqueue(Accept(2, batch)));
        Assert.Equal(3, batch.References);

        writer.FlushGate.SetResult(new FlushResult(isCanceled: false, isCompleted: true));
        await drain.WaitAsync(Guard);
        Assert.Equal([0L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    /// <summary>
    /// Two producers race one drain through a small ring: every message arrives once, in its producer's order, and every
    /// reference the queue took is given back (the batch ends with only ours).
    /// </summary>
    [Fact]
    public async Task ConcurrentProducersLoseNothingAndKeepTheirOrder()
    {
        const int perProducer = 20_000;
        const long producerStride = 1_000_000;
        var queue = new OutboundQueue(32);
        var batch = WireTestKit.Batch(1, 1, 8, false);
        var writer = new RecordingWriter();
        using var stop = new CancellationTokenSource();
        var drain = Task.Run(() => queue.DrainAsync(new PipeConnection(writer), stop.Token));
        long refused = 0;
        var producers = Enumerable.Range(0, 2).Select(p => Task.Run(() =>
        {
            for (int i = 0; i < perProducer; i++)
            {
                var message = Accept(p * producerStride + i, batch);
                while (!queue.TryEnqueue(message))
                {
                    Interlocked.Increment(ref refused);
                    Thread.Yield();
                }
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(60));
        queue.Complete();
        await drain.WaitAsync(TimeSpan.FromSeconds(60));

        var next = new long[2];
        foreach (long instance in WrittenInstances(writer))
        {
            int p = (int)(instance / producerStride);
            Assert.Equal(next[p]++, instance % producerStride);
        }
        Assert.Equal([perProducer, perProducer], next);
        Assert.Equal(refused, queue.Dropped);
        Assert.Equal(1, batch.References);
    }
}
