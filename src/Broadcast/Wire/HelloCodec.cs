using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AtomicBcast.Wire;

/// <summary>
/// The two frames of the hello exchange (protocol version 2).
/// <para>Hello body: version u16 | kind u8 | nodeId u16 | nonce (16 bytes) | clusterIdBytes u8 | clusterId (UTF-8, at
/// most Limits.ClusterIdBytesMax). The nonce is fresh per connection: the proofs cover it, so no proof can be replayed.</para>
/// <para>Proof: a second Hello frame with flag <see cref="ProofFlag"/> whose body is an HMAC-SHA256 (32 bytes) over both
/// hello bodies (see Transport/HelloProof.cs). A flag rather than a frame type of its own: the proof exists only inside
/// the exchange, never in the application's stream.</para>
/// Not on the hot path: one exchange per connection, so the cluster id may be a string.
/// </summary>
public static class HelloCodec
{
    /// <summary>Flags of the proof frame (type Hello).</summary>
    public const byte ProofFlag = 0x01;

    /// <summary>Bytes of the body before the cluster id.</summary>
    public const int FixedBytes = 6 + Limits.HelloNonceBytes;

    /// <summary>Largest hello body.</summary>
    public const int BodyBytesMax = FixedBytes + Limits.ClusterIdBytesMax;

    /// <summary>Writes a hello with an all-zero nonce (tests and tools that do not authenticate).</summary>
    public static void Write(IBufferWriter<byte> writer, in HelloMessage hello) =>
        Write(writer, hello, stackalloc byte[Limits.HelloNonceBytes]);

    public static void Write(IBufferWriter<byte> writer, in HelloMessage hello, ReadOnlySpan<byte> nonce)
    {
        Span<byte> body = stackalloc byte[BodyBytesMax];
        int length = WriteBody(body, hello, nonce);
        FrameCodec.WriteHeader(writer, MessageType.Hello, 0, length);
        writer.Write(body[..length]);
    }

    /// <summary>Writes the hello body into <paramref name="destination"/> (at least <see cref="BodyBytesMax"/> bytes); returns its length.</summary>
    public static int WriteBody(Span<byte> destination, in HelloMessage hello, ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length != Limits.HelloNonceBytes) throw new ArgumentException($"a hello nonce is {Limits.HelloNonceBytes} bytes", nameof(nonce));
        int idBytes = Encoding.UTF8.GetByteCount(hello.ClusterId);
        if (idBytes > Limits.ClusterIdBytesMax)
            throw new ArgumentException($"cluster id longer than {Limits.ClusterIdBytesMax} UTF-8 bytes", nameof(hello));
        BinaryPrimitives.WriteUInt16LittleEndian(destination, hello.ProtocolVersion);
        destination[2] = (byte)hello.Kind;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[3..], hello.NodeId);
        nonce.CopyTo(destination[5..]);
        destination[FixedBytes - 1] = (byte)idBytes;
        Encoding.UTF8.GetBytes(hello.ClusterId, destination[FixedBytes..]);
        return FixedBytes + idBytes;
    }

    public static HelloMessage Read(in Frame frame) => Read(frame, stackalloc byte[BodyBytesMax], out _);

    /// <summary>Parses a hello; its raw body is copied to <paramref name="body"/> (at least <see cref="BodyBytesMax"/>
    /// bytes, <paramref name="bodyBytes"/> long) for the proofs, which cover it.</summary>
    public static HelloMessage Read(in Frame frame, Span<byte> body, out int bodyBytes)
    {
        if (frame.Type != MessageType.Hello) WireException.Throw($"expected a hello, got {frame.Type}");
        if (frame.Flags != 0) WireException.Throw($"hello frame with unknown flags {frame.Flags:x2}");
        var source = frame.Body;
        if (source.Length < FixedBytes) WireException.ThrowTruncated("hello");
        if (source.Length > BodyBytesMax) WireException.Throw("hello longer than its limit");
        if (body.Length < BodyBytesMax) throw new ArgumentException("body buffer too small", nameof(body));
        var span = body[..(int)source.Length];
        source.CopyTo(span);
        bodyBytes = span.Length;
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(span);
        var kind = (PeerKind)span[2];
        if (!Enum.IsDefined(kind)) WireException.Throw($"unknown peer kind {span[2]}");
        ushort nodeId = BinaryPrimitives.ReadUInt16LittleEndian(span[3..]);
        int idBytes = span[FixedBytes - 1];
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

    /// <summary>The protocol version a hello frame announces, read before its layout (which depends on it); null when too short.</summary>
    public static ushort? PeekVersion(in Frame frame)
    {
        if (frame.Type != MessageType.Hello || frame.Body.Length < 2) return null;
        Span<byte> version = stackalloc byte[2];
        frame.Body.Slice(0, 2).CopyTo(version);
        return BinaryPrimitives.ReadUInt16LittleEndian(version);
    }

    /// <summary>The nonce inside a hello body written by <see cref="WriteBody"/> or copied by <see cref="Read(in Frame, Span{byte}, out int)"/>.</summary>
    public static ReadOnlySpan<byte> Nonce(ReadOnlySpan<byte> body) => body.Slice(5, Limits.HelloNonceBytes);

    public static void WriteProof(IBufferWriter<byte> writer, ReadOnlySpan<byte> proof)
    {
        if (proof.Length != Limits.HelloProofBytes) throw new ArgumentException($"a hello proof is {Limits.HelloProofBytes} bytes", nameof(proof));
        FrameCodec.WriteHeader(writer, MessageType.Hello, ProofFlag, Limits.HelloProofBytes);
        writer.Write(proof);
    }

    public static void ReadProof(in Frame frame, Span<byte> proof)
    {
        if (frame.Type != MessageType.Hello || frame.Flags != ProofFlag) WireException.Throw($"expected a hello proof, got {frame.Type} with flags {frame.Flags:x2}");
        if (frame.Body.Length != Limits.HelloProofBytes) WireException.Throw($"hello proof of {frame.Body.Length} bytes, expected {Limits.HelloProofBytes}");
        frame.Body.CopyTo(proof);
    }
}
