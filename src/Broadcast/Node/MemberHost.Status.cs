using AtomicBcast.Transport;
using AtomicBcast.Wire;

namespace AtomicBcast.Node;

// Status over the wire: a subscriber-kind connection whose first frame is a StatusRequest gets a StatusReply per request,
// from the loop's latest snapshot (never the core itself), until it closes. This is what `abcast status` asks.
public sealed partial class MemberHost
{
    /// <summary>The reply to a status request: the snapshot refreshed every tick, plus the subscriber retention floor and
    /// this process's counters (CPU, collections, allocation) and its log's sync durations, read now.</summary>
    internal StatusReplyMessage StatusReply()
    {
        var s = Status;
        return new StatusReplyMessage(s.NodeId, (MemberRole)s.Role, s.Halted, s.LeaderId, s.Promised, s.NextInstance, s.ChosenUpTo,
            s.NextPosition, s.LogBytes, s.AcceptedFloor, RetentionFloor, ProcessFigures.OfThisProcess(),
            _log.SyncLatency);
    }

    /// <summary>Answers the first request (already read) and every later one; any other frame is a protocol violation.</summary>
    private async Task ServeStatusAsync(IConnection connection, CancellationToken stop)
    {
        while (true)
        {
            MessageWriter.Write(connection.Output, StatusReply());
            var flush = await connection.Output.FlushAsync(stop).ConfigureAwait(false);
            if (flush.IsCompleted || !await ReadStatusRequestAsync(connection, stop).ConfigureAwait(false)) return;
        }
    }

    /// <summary>Waits for the next StatusRequest; false when the connection ended.</summary>
    private static async Task<bool> ReadStatusRequestAsync(IConnection connection, CancellationToken stop)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync(stop).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                MessageReader.ReadStatusRequest(frame);
                connection.Input.AdvanceTo(buffer.Start);
                return true;
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled) return false;
        }
    }
}
