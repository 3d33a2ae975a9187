using AtomicBcast.Storage;
using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// Subscribers below the ring's floor: the delivered stream replayed from the log on the session's own task (never the
// loop), a bounded chunk per flush with the ring path's backpressure, until the ring holds the session's position.
public sealed partial class MemberHost
{
    private const int HistoryInstancesPerFlush = 64;
    private const int HistoryBytesPerFlush = 1 << 20;

    /// <summary>The core's producer expiry (instances), which a replay must apply as the learner did.</summary>
    private readonly long _producerIdleMax;
    private long _historyReads;

    /// <summary>Times a subscriber session started reading from the log (at its start or after the ring evicted past it).</summary>
    internal long HistoryReads => Interlocked.Read(ref _historyReads);

    /// <summary>Batch bytes the delivery ring holds for subscribers.</summary>
    internal long RingBytes => _ring.RetainedBytes;

    /// <summary>The earliest position a subscriber can start from on this member: the ring's floor, or further back what
    /// the log can replay from its earliest usable checkpoint.</summary>
    internal long RetentionFloor => Math.Min(_ring.FloorPosition, HistoryReader.EarliestPosition(_log, (int)_checkpointEvery));

    /// <summary>Sends from the log from <paramref name="from"/>; returns the position the ring takes over at, or -1 when done
    /// (refused, closed or stopped).</summary>
    private async Task<long> SendFromLogAsync(IConnection connection, long from, CancellationToken stop)
    {
        var reader = new HistoryReader(_log, (int)_checkpointEvery, _producerIdleMax);
        try
        {
            if (!reader.TrySeek(from))
            {
                await RefuseBelowFloorAsync(connection, from, RetentionFloor).ConfigureAwait(false);
                return -1;
            }
            Interlocked.Increment(ref _historyReads);
            while (true)
            {
                long at = Math.Max(reader.NextPosition, from);
                if (_ring.Locate(at) >= 0) return at;
                var (step, waitFor) = WriteHistoryChunk(connection, reader, from);
                if (step == HistoryStep.NotRetained)
                {
                    await RefuseFromHistoryAsync(connection, reader, from).ConfigureAwait(false);
                    return -1;
                }
                var flush = await connection.Output.FlushAsync(stop).ConfigureAwait(false);
                if (flush.IsCompleted || _stopping) return -1;
                if (step == HistoryStep.NotDurable) await _log.WaitForDurableAsync(waitFor).AsTask().WaitAsync(stop).ConfigureAwait(false);
                else if (step == HistoryStep.NotDelivered) await Task.Delay(_options.TickMs, stop).ConfigureAwait(false);
            }
        }
        catch (LogTrimmedException)
        {
            // A segment went while we read it: the position is gone from the log too.
            await RefuseBelowFloorAsync(connection, Math.Max(reader.NextPosition, from), RetentionFloor).ConfigureAwait(false);
            return -1;
        }
        catch (LogCorruptException e)
        {
            // A corrupt log halts the member (through the loop); this session just ends.
            await PostAsync(LoopEvent.Fail(e), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes up to one chunk of delivered instances; stops early where the ring can take over.</summary>
    private (HistoryStep Step, LogAddress WaitFor) WriteHistoryChunk(IConnection connection, HistoryReader reader, long from)
    {
        long bytes = 0;
        for (int i = 0; i < HistoryInstancesPerFlush && bytes < HistoryBytesPerFlush; i++)
        {
            var step = reader.TryRead(Status.NextInstance, out var delivery, out int messageCount, out var waitFor);
            if (step != HistoryStep.Delivered) return (step, waitFor);
            try
            {
                // Instances without a delivered message, or wholly before the subscriber's position, carry nothing for it.
                if (messageCount > 0 && delivery.FirstPosition + messageCount > from)
                {
                    MessageWriter.Write(connection.Output, delivery);
                    bytes += delivery.Batch.Length;
                }
            }
            finally
            {
                delivery.Batch.Release();
            }
            if (_ring.Locate(Math.Max(reader.NextPosition, from)) >= 0) break;
        }
        return (HistoryStep.Delivered, default);
    }

    private async Task RefuseFromHistoryAsync(IConnection connection, HistoryReader reader, long from)
    {
        long position = Math.Max(reader.NextPosition, from);
        if (reader.Problem is { } problem) NodeLog.HistoryInconsistent(_logger, _self, problem);
        long floor = RetentionFloor;
        await RefuseBelowFloorAsync(connection, position, position < floor ? floor : reader.ResumePosition >= 0 ? reader.ResumePosition : floor)
            .ConfigureAwait(false);
    }
}
