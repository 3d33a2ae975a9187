using AtomicBcast.Client;

namespace AtomicBcast.Tests.Client;

/// <summary>The publisher's intake on its own, without threads: what it allocates and the seqs it hands out.</summary>
public sealed class PublishQueueTests
{
    /// <summary>Accepts <paramref name="count"/> messages, forms them into runs and acknowledges every run, as the
    /// publisher's send loop and answers would; false if a message was refused, had another seq than the next, or was
    /// not in a run. (No assertions inside: they allocate.)</summary>
    private static bool AcceptSendAndSettle(PublishQueue queue, PublishRun run, byte[] payload, int count, ref ulong expectedSeq)
    {
        bool asExpected = true;
        for (int i = 0; i < count; i++)
            asExpected &= queue.TryAccept(payload, out ulong seq, out _) && seq == expectedSeq++;
        int taken = 0;
        while (queue.TryTakeRun(100, 1 << 16, run))
        {
            asExpected &= run.First!.Seq == expectedSeq - (ulong)(count - taken);
            run.FirstSeq = run.First.Seq;
            taken += run.Count;
            run.Acknowledge(0, queue);
        }
        return asExpected && taken == count;
    }

    [Fact]
    public void SettledMessagesAreReusedSoAcceptingAllocatesNothing()
    {
        var queue = new PublishQueue(messagesMax: 1000, chunkBytesMax: 1 << 16);
        var run = new PublishRun();
        var payload = new byte[64];
        ulong seq = 1;
        Assert.True(AcceptSendAndSettle(queue, run, payload, 1000, ref seq)); // the first round makes the messages and the chunk

        bool asExpected = true;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 20; round++) asExpected &= AcceptSendAndSettle(queue, run, payload, 1000, ref seq);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(asExpected);
        Assert.Equal(21_001UL, seq);

        // A new message object per call would be about 60 B each (1.2 MB here).
        Assert.True(allocated < 20 * 1000, $"{allocated} B allocated for 20,000 messages");
    }

    [Fact]
    public void AFullQueueRefusesWithoutCopyingAndACompletedOneSaysSo()
    {
        var queue = new PublishQueue(messagesMax: 2, chunkBytesMax: 1 << 16);
        Assert.True(queue.TryAccept([1], out ulong first, out _));
        Assert.True(queue.TryAccept([2], out ulong second, out _));
        Assert.False(queue.TryAccept([3], out _, out bool completed));
        Assert.False(completed);
        Assert.Equal((1UL, 2UL), (first, second));

        queue.Complete(new PublishException("closed"));
        Assert.False(queue.TryAccept([4], out _, out completed));
        Assert.True(completed);
    }
}
