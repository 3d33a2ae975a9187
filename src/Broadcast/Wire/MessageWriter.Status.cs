using System.Buffers;
using System.Buffers.Binary;

namespace AtomicBcast.Wire;

// Status: a request with no body, a reply of fixed size (layouts in MessageLayout).
public static partial class MessageWriter
{
    public static void Write(IBufferWriter<byte> writer, in StatusRequestMessage message)
    {
        // header(6), no body
        FrameCodec.WriteHeader(writer, MessageType.StatusRequest, 0, MessageLayout.StatusRequestBytes);
    }

    public static void Write(IBufferWriter<byte> writer, in StatusReplyMessage message)
    {
        // header(6) + nodeId(2) + role(1) + halted(1) + leaderId(2) + 7 x 8 + 6 x 8 (process figures) + 17 x 8 (log syncs) = 252
        var span = writer.GetSpan(FrameHeader + MessageLayout.StatusReplyBytes);
        FrameCodec.WriteHeader(span, MessageType.StatusReply, 0, MessageLayout.StatusReplyBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(span[FrameHeader..], message.NodeId);
        span[FrameHeader + 2] = (byte)message.Role;
        span[FrameHeader + 3] = message.Halted ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(span[(FrameHeader + 4)..], message.LeaderId);
        Put(span, 6, message.Promised.Value);
        Put(span, 14, message.NextInstance);
        Put(span, 22, message.ChosenUpTo);
        Put(span, 30, message.NextPosition);
        Put(span, 38, message.LogBytes);
        Put(span, 46, message.AcceptedFloor);
        Put(span, 54, message.EarliestPosition);
        var process = message.Process;
        Put(span, 62, process.CpuMs);
        Put(span, 70, process.Gen0Collections);
        Put(span, 78, process.Gen1Collections);
        Put(span, 86, process.Gen2Collections);
        Put(span, 94, process.AllocatedBytes);
        Put(span, 102, process.WorkingSetBytes);
        var logSync = message.LogSync;
        for (int k = 0; k < SyncLatencyFigures.Buckets; k++) Put(span, 110 + 8 * k, logSync.Counts[k]);
        Put(span, 110 + 8 * SyncLatencyFigures.Buckets, logSync.SlowestMicros);
        writer.Advance(FrameHeader + MessageLayout.StatusReplyBytes);
    }
}
