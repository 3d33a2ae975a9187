using AtomicBcast.Node;
using AtomicBcast.Tests.Wire;
using Xunit.Abstractions;
using static AtomicBcast.Tests.Node.OutboundQueueTestKit;

namespace AtomicBcast.Tests.Node;

[Collection(MemoryMeasurementCollection.Name)]
public sealed class OutboundQueueAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Bytes the whole process may allocate in one round: runtime and test-host noise, never per message (a Channel's
    /// wait allocated 96 bytes per message here: 480,000 bytes per round).
    /// </summary>
    private const long BudgetBytes = 8 << 10;

    private const int MessagesPerRound = 5_000;
    private const int Rounds = 5;

    /// <summary>
    /// One message in flight at a time, so the drain waits for each next message on a cancellable token (as every real
    /// drain does): enqueue, write, flush and the wait allocate nothing once warm. The drain continues on the thread pool,
    /// so the whole process is counted, and the test host now and then allocates on its own threads (reflection, about
    /// 800 KB at once): the quietest of several rounds is held to the budget. An allocation per message shows in every round.
    /// </summary>
    [Fact]
    public async Task SteadyStateEnqueueDrainAndWaitAllocateNothing()
    {
        var queue = new OutboundQueue(16);
        var writer = new DiscardingWriter();
        var message = Accept(1, WireTestKit.Batch(1, 1, 64, false)); // boxed once, enqueued again and again
        using var stop = new CancellationTokenSource();
        var drain = queue.DrainAsync(new PipeConnection(writer), stop.Token);
        long sent = 0;

        Run(2_000); // warm: JIT and tiering, the drain's state machine box, thread-pool threads
        var allocated = new long[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Run(MessagesPerRound);
            allocated[round] = GC.GetTotalAllocatedBytes(precise: true) - before;
        }

        queue.Complete();
        await drain.WaitAsync(TimeSpan.FromSeconds(30)); // failure guard only
        output.WriteLine($"bytes allocated per round of {MessagesPerRound} messages: {string.Join(", ", allocated)}");
        Assert.InRange(allocated.Min(), 0, BudgetBytes);

        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                Assert.True(queue.TryEnqueue(message));
                sent++;
                // Each message is flushed on its own before the next one comes, so the drain finds the queue empty.
                while (Volatile.Read(ref writer.Flushes) < sent) Thread.Yield();
            }
        }
    }

    /// <summary>
    /// The loop's path (<see cref="OutboundQueue.TryEnqueueForPump"/>, then <see cref="OutboundQueue.Pump"/> while the drain
    /// waits) writes on the calling thread, so that thread's own count is exact: nothing at all once warm.
    /// </summary>
    [Fact]
    public async Task SteadyStatePumpAllocatesNothingOnTheLoopThread()
    {
        var queue = new OutboundQueue(16);
        var writer = new DiscardingWriter();
        var message = Accept(1, WireTestKit.Batch(1, 1, 64, false));
        using var stop = new CancellationTokenSource();
        var drain = queue.DrainAsync(new PipeConnection(writer), stop.Token);

        int refused = Pump(2_000); // warm
        long before = GC.GetAllocatedBytesForCurrentThread();
        refused += Pump(MessagesPerRound);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        queue.Complete();
        await drain.WaitAsync(TimeSpan.FromSeconds(30)); // failure guard only
        output.WriteLine($"bytes allocated by {MessagesPerRound} pumped messages: {allocated}");
        Assert.Equal(0, refused);
        Assert.Equal(2_000 + MessagesPerRound, writer.Flushes); // each pumped on its own: the pump wrote them all
        Assert.Equal(0, allocated);

        int Pump(int count)
        {
            int dropped = 0;
            for (int i = 0; i < count; i++)
            {
                if (!queue.TryEnqueueForPump(message)) dropped++;
                queue.Pump();
            }
            return dropped;
        }
    }
}
