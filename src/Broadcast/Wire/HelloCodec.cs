using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AtomicBcast.Wire;

/// <summary>
/// Hello body: version u16 | kind u8 | nodeId u16 | clusterIdBytes u8 | clusterId (UTF-8, at most Limits.ClusterIdBytesMax).
/// Not on the hot path: one per connection, so the cluster id may be a string.
/// </summary>
public static class HelloCodec
{
    private const int FixedBytes = 6;

    public static void Write(IBufferWriter<byte> writer, in HelloMessage hello)
    {
        int idBytes = Encoding.UTF8.GetByteCount(hello.ClusterId);
        if (idBytes > Limits.ClusterIdBytesMax)
            throw new ArgumentException($"cluster id longer than {Limits.ClusterIdBytesMax} UTF-8 bytes", nameof(hello));
        int body = FixedBytes + idBytes;
        FrameCodec.WriteHeader(writer, MessageType.Hello, 0, body);
        var span = writer.GetSpan(body);
        BinaryPrimitives.WriteUInt16LittleEndian(span, hello.ProtocolVersion);
        span[2] = (byte)hello.Kind;
        BinaryPrimitives.WriteUInt16LittleEndian(span[3..], hello.NodeId);
        span[5] = (byte)idBytes;
        Encoding.UTF8.GetBytes(hello.ClusterId, span[FixedBytes..]);
        writer.Advance(body);
    }

    public static HelloMessage Read(in Frame frame)
    {
        if (frame.Type != MessageType.Hello) WireException.Throw($"expected a hello, got {frame.Type}");
        if (frame.Flags != 0) WireException.Throw($"hello frame with unknown flags {frame.Flags:x2}");
        var body = frame.Body;
        if (body.Length < FixedBytes) WireException.ThrowTruncated("hello");
        if (body.Length > FixedBytes + Limits.ClusterIdBytesMax) WireException.Throw("hello longer than its limit");
        Span<byte> span = stackalloc byte[FixedBytes + Limits.ClusterIdBytesMax];
        span = span[..(int)body.Length];
        body.CopyTo(span);
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(span);
        var kind = (PeerKind)span[2];
        if (!Enum.IsDefined(kind)) WireException.Throw($"unknown peer kind {span[2]}");
        ushort nodeId = BinaryPrimitives.ReadUInt16LittleEndian(span[3..]);
        int idBytes = span[5];
        if (idBytes != span.Length - FixedBytes) WireException.Throw("hello cluster id length disagrees with the body");
        string clusterId;
        try
        {
            clusterId = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(span[FixedBytes..]);
        }
        catch (DecoderFallbackException)
        {
            WireException.Throw("hello cluster id is not valid UTF-8");
            throw;
        }
        return new HelloMessage(version, kind, nodeId, clusterId);
    }
}
