using System.IO.Pipelines;
using AtomicBcast.Node;
using AtomicBcast.Tests.Wire;
using static AtomicBcast.Tests.Node.OutboundQueueTestKit;

namespace AtomicBcast.Tests.Node;

/// <summary>
/// The loop's own writes (<see cref="OutboundQueue.Pump"/>) and their hand-over to the drain: the pump writes only while
/// the drain waits, never blocks, and gives the drain whatever it cannot finish (a held-back flush, a closed connection,
/// a failed write); a drain ends only after a pump in progress ended.
/// </summary>
public sealed class OutboundQueuePumpTests
{
    [Fact]
    public async Task APumpWritesAndFlushesOnceWhatTheLoopQueuedWhileTheDrainWaits()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new RecordingWriter();
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        Assert.False(drain.IsCompleted); // nothing queued: it waits

        Assert.True(queue.TryEnqueueForPump(Accept(0, batch)));  // the first since the last pump: remember to pump
        Assert.False(queue.TryEnqueueForPump(Accept(1, batch)));
        Assert.False(queue.TryEnqueueForPump(Accept(2, batch)));
        Assert.Equal(0, WholeFramesWritten(writer)); // not woken: the drain did not write them
        queue.Pump();
        // Written on this thread, in order, with one flush for the three.
        Assert.Equal([0L, 1L, 2L], WrittenInstances(writer));
        Assert.Equal(1, writer.Flushes);
        Assert.Equal(1, batch.References);

        Assert.True(queue.TryEnqueueForPump(Accept(3, batch))); // a new burst asks for a pump again
        queue.Pump();
        Assert.Equal([0L, 1L, 2L, 3L], WrittenInstances(writer));
        Assert.False(drain.IsCompleted);
        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal(2, writer.Flushes);
    }

    /// <summary>A peer's queue between connections: the pump has nowhere to write, the next connection's drain sends it.</summary>
    [Fact]
    public async Task APumpWithoutADrainLeavesTheMessagesToTheNextDrain()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        Assert.True(queue.TryEnqueueForPump(Accept(5, batch)));
        queue.Pump();
        Assert.Equal(2, batch.References);

        var writer = new RecordingWriter();
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal([5L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    /// <summary>
    /// The peer pushes back: the pump returns at once and the drain awaits the flush. Until the drain has run, a further
    /// pump writes nothing (two flushes in flight on one writer would break the pipe); the drain then sends it.
    /// </summary>
    [Fact]
    public async Task AFlushThePeerHoldsBackIsHandedToTheDrain()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new RecordingWriter { FlushGate = new TaskCompletionSource<FlushResult>(TaskCreationOptions.RunContinuationsAsynchronously) };
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);

        queue.TryEnqueueForPump(Accept(0, batch));
        queue.Pump(); // returns although its flush waits
        Assert.Equal([0L], WrittenInstances(writer));
        Assert.Equal(1, writer.Flushes);

        queue.TryEnqueueForPump(Accept(1, batch));
        queue.Pump();
        Assert.Equal([0L], WrittenInstances(writer));
        Assert.Equal(1, writer.Flushes);

        writer.FlushGate.SetResult(new FlushResult(isCanceled: false, isCompleted: false));
        await WaitUntil(() => WholeFramesWritten(writer) == 2);
        Assert.False(drain.IsCompleted);
        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal([0L, 1L], WrittenInstances(writer));
        Assert.Equal(1, batch.References);
    }

    /// <summary>A peer that never reads again must not keep its link (and the member's stop) waiting: cancelling the drain
    /// ends the flush it took over from the pump.</summary>
    [Fact]
    public async Task AHandedOverFlushEndsWhenTheDrainIsCancelled()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new NeverFlushingWriter();
        using var stop = new CancellationTokenSource();
        var drain = queue.DrainAsync(new PipeConnection(writer), stop.Token);
        queue.TryEnqueueForPump(Accept(0, batch));
        queue.Pump(); // returns; the drain takes over the flush
        Assert.True(writer.Awaited.Wait(Guard));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drain.WaitAsync(Guard));
        Assert.Equal(1, batch.References);
    }

    /// <summary>A long queue is not copied on the loop thread: one pump writes one flush budget, the drain the rest.</summary>
    [Fact]
    public async Task APumpWritesOneBudgetAndLeavesTheRestToTheDrain()
    {
        const int queued = 300; // the writer cannot count its bytes: the budget is 256 messages
        var queue = new OutboundQueue(512);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new TurnCheckingWriter(holdEveryNthFlush: int.MaxValue);
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        for (int i = 0; i < queued; i++) queue.TryEnqueueForPump(Accept(i, batch));
        writer.PumpThread = Environment.CurrentManagedThreadId;
        queue.Pump();
        writer.PumpThread = -1; // the drain may continue on this thread later

        queue.Complete();
        await drain.WaitAsync(Guard);
        Assert.Equal(Enumerable.Range(0, queued).Select(i => (long)i), writer.Instances());
        Assert.Equal(1, writer.PumpFlushes);
        Assert.Equal(1, writer.DrainFlushes); // the drain wrote the rest, all in one flush
        Assert.Equal(0, writer.Overlaps);
        Assert.Equal(1, batch.References);
    }

    [Fact]
    public async Task APumpThatFindsTheConnectionClosedEndsTheDrainAndReleasesTheRest()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var closed = new TaskCompletionSource<FlushResult>();
        closed.SetResult(new FlushResult(isCanceled: false, isCompleted: true));
        var writer = new RecordingWriter { FlushGate = closed };
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);

        queue.TryEnqueueForPump(Accept(0, batch));
        queue.Pump();
        await drain.WaitAsync(Guard);
        Assert.Equal([0L], WrittenInstances(writer));
        // Queued after the drain ended: kept for the next connection's drain, not lost.
        Assert.True(queue.TryEnqueueForPump(Accept(1, batch)));
        queue.Pump();
        Assert.Equal([0L], WrittenInstances(writer));
        Assert.Equal(2, batch.References);
    }

    /// <summary>The loop must never see a connection's failure (it would halt the member): the drain throws it instead.</summary>
    [Fact]
    public async Task AWriteThatFailsInThePumpIsThrownByTheDrain()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new FailingWriter();
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);

        queue.TryEnqueueForPump(Accept(0, batch));
        queue.TryEnqueueForPump(Accept(1, batch));
        queue.Pump();
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => drain.WaitAsync(Guard));
        Assert.Equal(FailingWriter.Why, thrown.Message);
        Assert.Equal(1, batch.References);
    }

    /// <summary>
    /// The connection is disposed as soon as its drain ends, so a drain cancelled while the loop writes to that connection
    /// must wait for the write to end: when it ends, the pump's flush has happened already.
    /// </summary>
    [Fact]
    public async Task ADrainCancelledDuringAPumpEndsOnlyAfterThePump()
    {
        var queue = new OutboundQueue(8);
        var batch = WireTestKit.Batch(1, 1, 16, false);
        var writer = new StallingWriter();
        using var stop = new CancellationTokenSource();
        var drain = queue.DrainAsync(new PipeConnection(writer), stop.Token);
        queue.TryEnqueueForPump(Accept(0, batch));
        var pump = Task.Run(queue.Pump);
        Assert.True(writer.Writing.Wait(Guard)); // the pump is inside the write

        await stop.CancelAsync();
        // The drain cannot end now: it wakes (on the thread pool), finds the pump writing, and waits for its end.
        await WaitUntil(() => queue.DrainWaitsForPump);
        Assert.False(drain.IsCompleted);
        writer.Release.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drain.WaitAsync(Guard));
        Assert.Equal(1, Volatile.Read(ref writer.Flushes));
        await pump.WaitAsync(Guard);
        Assert.Equal(1, batch.References);
    }

    /// <summary>
    /// A loop that queues and pumps in bursts races a drain whose flushes are sometimes held back: every message the queue
    /// took arrives once and in order, the writer is never used by both at once, and every reference comes back.
    /// </summary>
    [Fact]
    public async Task BurstsOfPumpsAndHeldBackFlushesLoseNothingAndNeverOverlap()
    {
        const int total = 10_000;
        var queue = new OutboundQueue(64);
        var batch = WireTestKit.Batch(1, 1, 8, false);
        var writer = new TurnCheckingWriter(holdEveryNthFlush: 7);
        var drain = queue.DrainAsync(new PipeConnection(writer), CancellationToken.None);
        var taken = new List<long>();
        var loop = Task.Run(() =>
        {
            writer.PumpThread = Environment.CurrentManagedThreadId;
            var random = new Random(42);
            for (int next = 0; next < total;)
            {
                int burst = random.Next(1, 40);
                for (int i = 0; i < burst && next < total; i++)
                {
                    long dropped = queue.Dropped;
                    queue.TryEnqueueForPump(Accept(next, batch));
                    if (queue.Dropped == dropped) taken.Add(next++);
                    else Thread.Yield(); // full: the drain is behind; the same message again
                }
                queue.Pump();
                if (random.Next(4) == 0) Thread.Yield(); // now and then let the drain catch up
            }
        });
        await loop.WaitAsync(TimeSpan.FromSeconds(60));
        queue.Complete();
        await drain.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(taken, writer.Instances());
        Assert.Equal(total, taken.Count);
        Assert.Equal(0, writer.Overlaps);
        Assert.True(writer.HeldFlushes > 0, "no flush was held back: the hand-over was not exercised");
        Assert.True(writer.PumpFlushes > 0 && writer.DrainFlushes > 0,
            $"flushes by the pump {writer.PumpFlushes}, by the drain {writer.DrainFlushes}: both writers must have taken turns");
        Assert.Equal(1, batch.References);
    }
}
