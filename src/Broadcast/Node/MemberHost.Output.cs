using AtomicBcast.Consensus;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// IConsensusOutput: called on the loop thread, inside the core's event methods. Nothing here blocks.
public sealed partial class MemberHost
{
    /// <summary>Queues written by the loop itself at the end of its burst (<see cref="PumpOutbound"/>): one flush per
    /// connection per burst, and no hand-off to a writer thread while the connection keeps up (loop thread only).</summary>
    private readonly List<OutboundQueue> _toPump = new();

    private void SendToPeer(ushort to, in Envelope message)
    {
        if (_peerQueues.TryGetValue(to, out var queue)) QueueForPump(queue, message);
    }

    private void QueueForPump(OutboundQueue queue, in Envelope message)
    {
        if (queue.TryEnqueueForPump(message)) _toPump.Add(queue);
    }

    /// <summary>Loop thread, after each burst of events: writes and flushes what the burst queued.</summary>
    private void PumpOutbound()
    {
        foreach (var queue in _toPump) queue.Pump();
        _toPump.Clear();
    }

    void IConsensusOutput.Send(ushort to, in PreVoteMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in PreVoteReplyMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in PrepareMessage message) => SendToPeer(to, message);
    // The records array may be reused by the core after the call: queue a copy.
    void IConsensusOutput.Send(ushort to, in PromiseMessage message) => SendToPeer(to, message with { Records = [.. message.Records] });
    void IConsensusOutput.Send(ushort to, in AcceptMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in AcceptedMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in RejectedMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in HeartbeatMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in FetchMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in FetchReplyMessage message) => SendToPeer(to, message);
    void IConsensusOutput.Send(ushort to, in CheckpointMessage message) => SendToPeer(to, message);

    /// <summary>When each publisher run reached the loop, for the commit latency histogram (loop thread only).</summary>
    private readonly Dictionary<(long Client, ulong Producer, ulong FirstSeq), long> _publishStarts = new();

    /// <summary>Deliveries searched for the first attempt of a retried run.</summary>
    private const int DuplicateSearchDeliveriesMax = 4096;

    void IConsensusOutput.Ack(long client, in PublishAckMessage ack)
    {
        if (!_publishers.TryGetValue(client, out var session)) return;
        var answer = ack;
        // A retry of a run whose first attempt was delivered (its ack lost in a leader change): the core says Duplicate
        // without a position; the delivered stream still knows it, so the publisher gets the position after all.
        if (ack.Status == PublishStatus.Duplicate && ack.ProducerId != 0
            && _ring.TryFindRun(ack.ProducerId, ack.FirstSeq, ack.Count, DuplicateSearchDeliveriesMax, out long position))
            answer = ack with { Status = PublishStatus.Committed, Position = position };
        if (_publishStarts.Remove((client, ack.ProducerId, ack.FirstSeq), out long started) && ack.Status == PublishStatus.Committed)
            NodeMetrics.CommitLatency(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        QueueForPump(session.Queue, answer);
    }

    void IConsensusOutput.Deliver(in DeliverMessage delivery)
    {
        int messages = CountDelivered(delivery);
        _ring.Append(delivery, messages);
        NodeMetrics.Delivered(delivery, messages);
    }

    /// <summary>The learner installed a peer's checkpoint: the delivered stream restarts at its position (subscribers below it
    /// are told they are below the retention floor).</summary>
    void IConsensusOutput.Jumped(long instance, long nextPosition) => _ring.Restart(nextPosition);

    /// <summary>Messages of the delivery that took a position (runs not skipped by the exactly-once rule).</summary>
    internal static int CountDelivered(in DeliverMessage delivery)
    {
        using var opened = BatchReader.Open(delivery.Batch.Span);
        int count = 0, index = 0, skipped = 0;
        var runs = opened.EnumerateRuns();
        while (runs.MoveNext())
        {
            if (skipped < delivery.SkippedRuns.Length && delivery.SkippedRuns[skipped] == index) skipped++;
            else count += runs.Current.Count;
            index++;
        }
        return count;
    }
}
