using System.IO.Pipelines;
using System.Net;
using AtomicBcast.Node;
using AtomicBcast.Tests.Wire;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

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

    /// <summary>Only the output matters to <see cref="OutboundQueue.DrainAsync"/>.</summary>
    private sealed class PipeConnection(PipeWriter output) : IConnection
    {
        public PipeReader Input => throw new NotSupportedException();
        public PipeWriter Output => output;
        public HelloMessage RemoteHello => default;
        public EndPoint? RemoteEndPoint => null;
        public ClientCredential? Credential => null;
        public Task<ShutdownReason> Closed => new TaskCompletionSource<ShutdownReason>().Task;
        public long BytesReceived => 0;
        public long BytesSent => 0;
        public Task CloseAsync() => Task.CompletedTask;
        public void Abort(ShutdownReason reason) { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
