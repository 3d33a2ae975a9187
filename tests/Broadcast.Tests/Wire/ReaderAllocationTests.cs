using System.Buffers;
using AtomicBcast.Wire;
using static AtomicBcast.Tests.Wire.WireTestKit;

namespace AtomicBcast.Tests.Wire;

/// <summary>The in-place readers of the hot path allocate nothing, on single- and multi-segment input alike.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public class ReaderAllocationTests
{
    [Fact]
    public void InPlaceReadersAllocateNothing()
    {
        var frames = new[] { "accept", "accept-lz4", "promise-3", "publish", "deliver-skipped", "fetch-reply-chosen", "heartbeat", "accepted" }
            .Select(name => Encode(Samples.SmallByName(name)))
            .SelectMany(bytes => new[] { new ReadOnlySequence<byte>(bytes), Segment.Split(bytes, 3, 17, bytes.Length / 2) })
            .ToArray();
        long checksum = ReadAll(frames); // warm up: JIT and pools
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) checksum += ReadAll(frames);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(checksum != 0);
        Assert.True(allocated == 0, $"{allocated} bytes allocated by in-place reads");
    }

    private static long ReadAll(ReadOnlySequence<byte>[] frames)
    {
        long checksum = 0;
        Span<ushort> skipped = stackalloc ushort[16];
        foreach (var bytes in frames)
        {
            var buffer = bytes;
            if (!FrameCodec.TryReadFrame(ref buffer, out var frame)) throw new InvalidOperationException("frame should parse");
            switch (frame.Type)
            {
                case MessageType.Accept:
                    checksum += MessageReader.ReadAccept(frame, out var batch).Instance + batch.Length;
                    using (var opened = BatchReader.Open(batch)) checksum += Walk(opened);
                    break;
                case MessageType.Promise:
                    MessageReader.ReadPromise(frame, out var records);
                    while (records.TryRead(out var record, out var recordBatch)) checksum += record.Instance + recordBatch.Length;
                    break;
                case MessageType.Publish:
                    checksum += MessageReader.ReadPublish(frame, out var run).Count + run.Length;
                    break;
                case MessageType.Deliver:
                    var deliver = MessageReader.ReadDeliver(frame, out var skippedRuns, out var deliverBatch);
                    checksum += MessageReader.CopySkippedRuns(skippedRuns, skipped) + deliver.FirstPosition + deliverBatch.Length;
                    break;
                case MessageType.FetchReply:
                    checksum += MessageReader.ReadFetchReply(frame, out var fetched).Instance + fetched.Length;
                    break;
                case MessageType.Heartbeat:
                    checksum += MessageReader.ReadHeartbeat(frame).CommitUpTo;
                    break;
                case MessageType.Accepted:
                    checksum += MessageReader.ReadAccepted(frame).LastInstance;
                    break;
            }
        }
        return checksum;
    }

    private static long Walk(OpenedBatch opened)
    {
        long sum = 0;
        var runs = opened.EnumerateRuns();
        while (runs.MoveNext())
            foreach (var payload in runs.Messages) sum += payload.Length + 1;
        return sum;
    }
}
