using AtomicBcast.Storage;
using AtomicBcast.Storage.Devices;

namespace AtomicBcast.Tests.Storage;

[Collection(MemoryMeasurementCollection.Name)]
public class AllocationTests
{
    /// <summary>
    /// The appending thread allocates nothing per append or per wait once the log is warm (no segment roll, index
    /// sized for the window). The flusher thread's side is covered by the benchmark's [MemoryDiagnoser].
    /// </summary>
    [Fact]
    public void SteadyStateAppendsAndWaitsAllocateNothing()
    {
        var device = new SimulatedLogDevice();
        using var log = LogTestKit.Open(device, segmentBytes: 16 << 20, flushBytesMax: 64 << 10, indexCapacity: 1 << 16);
        var payload = new byte[100];
        ulong instance = 0;
        Run(2_000); // warm: JIT, first segment, every write buffer and completion array used once
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(20_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        void Run(int count)
        {
            LogAddress last = default;
            for (int i = 0; i < count; i++)
            {
                while (!log.TryAppendAccept(instance, LogTestKit.BallotOf(1), payload, out last)) WaitFor(log.WaitForDurableAsync(last));
                instance++;
                if (i % 100 == 99) WaitFor(log.WaitForDurableAsync(last));
            }
            WaitFor(log.WaitForDurableAsync(last));
        }

        static void WaitFor(ValueTask wait)
        {
            while (!wait.IsCompleted) Thread.Yield();
            Assert.True(wait.IsCompletedSuccessfully);
        }
    }
}
