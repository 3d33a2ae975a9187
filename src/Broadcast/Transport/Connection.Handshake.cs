using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    // The largest frame of the exchange: a hello, a proof, or the error frame of a refusal.
    private const int HandshakeFrameBytesMax = Limits.FrameHeaderBytes + 4 + Limits.ErrorTextBytesMax;

    /// <summary>The client token the peer proved (acceptor side), or null: anonymous, or not a client.</summary>
    public ClientCredential? Credential { get; private set; }

    /// <summary>
    /// The hello exchange (protocol v2): both sides send a hello with a fresh nonce, then read the peer's and check its
    /// version and cluster; the initiator sends its proof, the acceptor checks it and answers with its own proof or an
    /// error frame (see <see cref="HelloProof"/>); the initiator checks that. Null on success (then
    /// <see cref="RemoteHello"/> is set); otherwise the connection is closing and the reason is returned. A refusal
    /// closes in order, so the peer still reads our hello or error frame and reaches its own verdict instead of a reset.
    /// All of it must finish within the hello timeout.
    /// </summary>
    public async Task<ShutdownReason?> HandshakeAsync(bool initiator, CancellationToken cancellationToken)
    {
        var local = new byte[HelloCodec.BodyBytesMax];
        var nonce = new byte[Limits.HelloNonceBytes];
        RandomNumberGenerator.Fill(nonce);
        int localBytes = HelloCodec.WriteBody(local, Options.LocalHello, nonce);
        FrameCodec.WriteHeader(Output, MessageType.Hello, 0, localBytes);
        Output.Write(local.AsSpan(0, localBytes));
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        using var deadline = new CancellationTokenSource(Options.HelloTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        ShutdownReason? failure;
        try
        {
            failure = await ExchangeAsync(initiator, local.AsMemory(0, localBytes), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failure = new ShutdownReason(ShutdownKind.HelloTimeout, $"no hello within {Options.HelloTimeout}");
        }
        catch (WireException e)
        {
            failure = ShutdownReason.ProtocolViolation(e);
        }
        catch (OperationCanceledException)
        {
            Abort(ShutdownReason.LocalAbort);
            throw;
        }
        if (failure is { } f) await RefuseAsync(f).ConfigureAwait(false);
        return failure;
    }

    private async Task<ShutdownReason?> ExchangeAsync(bool initiator, ReadOnlyMemory<byte> local, CancellationToken cancellationToken)
    {
        // No frame and no bytes left: the connection ended first, and its reason says how.
        if (await ReadHandshakeFrameAsync(cancellationToken).ConfigureAwait(false) is not { } first) return await Closed.ConfigureAwait(false);
        var frame = first.AsFrame();
        if (HelloCodec.PeekVersion(frame) is { } version && version != Options.LocalHello.ProtocolVersion)
            return ShutdownReason.HelloRejected($"peer speaks protocol version {version}, we speak {Options.LocalHello.ProtocolVersion}");
        var remote = new byte[HelloCodec.BodyBytesMax];
        var hello = HelloCodec.Read(frame, remote, out int remoteBytes);
        if (Check(hello) is { } mismatch) return mismatch;
        var failure = initiator
            ? await ProveAsInitiatorAsync(local, remote.AsMemory(0, remoteBytes), cancellationToken).ConfigureAwait(false)
            : await ProveAsAcceptorAsync(hello, remote.AsMemory(0, remoteBytes), local, cancellationToken).ConfigureAwait(false);
        if (failure is null) RemoteHello = hello;
        return failure;
    }

    private async Task<ShutdownReason?> ProveAsInitiatorAsync(ReadOnlyMemory<byte> local, ReadOnlyMemory<byte> remote, CancellationToken cancellationToken)
    {
        var auth = Options.Auth;
        var localKind = Options.LocalHello.Kind;
        WriteProof(auth.OwnKey(localKind), HelloRole.Initiator, local.Span, remote.Span);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        if (await ReadHandshakeFrameAsync(cancellationToken).ConfigureAwait(false) is not { } answer) return await Closed.ConfigureAwait(false);
        var frame = answer.AsFrame();
        if (frame.Type == MessageType.Error)
        {
            var error = MessageReader.ReadError(frame);
            return ShutdownReason.AccessDenied($"refused by the member: {error.Text}", error.Code);
        }
        var proof = new byte[Limits.HelloProofBytes];
        HelloCodec.ReadProof(frame, proof);
        // A client does not check the member's proof: the member proves the client's own token at best, which says little
        // about the member; a client that must know it talks to a real member uses TLS.
        if (HelloAuth.IsMemberKind(localKind) && !HelloProof.Verify(proof, auth.ClusterSecret.Span, HelloRole.Acceptor, local.Span, remote.Span))
            return ShutdownReason.AccessDenied("the peer did not prove the cluster secret (its secret differs from ours, or one of us has none)");
        return null;
    }

    private async Task<ShutdownReason?> ProveAsAcceptorAsync(HelloMessage hello, ReadOnlyMemory<byte> remote, ReadOnlyMemory<byte> local, CancellationToken cancellationToken)
    {
        var auth = Options.Auth;
        if (await ReadHandshakeFrameAsync(cancellationToken).ConfigureAwait(false) is not { } answer) return await Closed.ConfigureAwait(false);
        var proof = new byte[Limits.HelloProofBytes];
        HelloCodec.ReadProof(answer.AsFrame(), proof);
        ReadOnlySpan<byte> key;
        if (HelloAuth.IsMemberKind(hello.Kind))
        {
            // Over TLS, member links are mutual TLS: a member proves the CA's certificate as well as the secret.
            if (IsEncrypted && !PeerCertified)
                return Deny(ErrorCode.Unauthenticated, $"{hello.Kind} {hello.NodeId} connected over TLS without a certificate from the cluster CA");
            if (!HelloProof.Verify(proof, auth.ClusterSecret.Span, HelloRole.Initiator, remote.Span, local.Span))
                return Deny(ErrorCode.Unauthenticated, $"{hello.Kind} {hello.NodeId} did not prove the cluster secret (its secret differs from ours, or one of us has none)");
            key = auth.ClusterSecret.Span;
        }
        else
        {
            var credential = auth.FindCredential(proof, remote.Span, local.Span);
            if (credential is null && auth.ClientCredentials.Count > 0)
                return Deny(ErrorCode.Unauthenticated, $"{hello.Kind} presented no token this cluster knows");
            if (auth.AuthorizeClient?.Invoke(hello, credential) is { } refusal) return Deny(refusal.Code, refusal.Text);
            Credential = credential;
            key = credential is null ? default : credential.Key;
        }
        WriteProof(key, HelloRole.Acceptor, remote.Span, local.Span);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Tells the peer why (an error frame, sent by the orderly close that follows) and returns our reason.</summary>
    private ShutdownReason Deny(ErrorCode code, string why)
    {
        MessageWriter.Write(Output, new ErrorMessage(code, why.Length > 200 ? why[..200] : why));
        return ShutdownReason.AccessDenied(why, code);
    }

    private void WriteProof(ReadOnlySpan<byte> key, HelloRole role, ReadOnlySpan<byte> initiatorBody, ReadOnlySpan<byte> acceptorBody)
    {
        Span<byte> proof = stackalloc byte[Limits.HelloProofBytes];
        HelloProof.Compute(proof, key, role, initiatorBody, acceptorBody);
        HelloCodec.WriteProof(Output, proof);
    }

    private async Task RefuseAsync(ShutdownReason reason)
    {
        // Only a well-formed refusal earns an orderly close; a silent or malformed peer is cut off.
        if (reason.Kind is ShutdownKind.HelloRejected or ShutdownKind.AccessDenied)
        {
            Record(reason);
            Output.Complete();
        }
        else
        {
            Abort(reason);
        }
        await Closed.ConfigureAwait(false);
    }

    /// <summary>One frame of the exchange, copied out of the pipe (it is small); null if the connection ended first.</summary>
    private async Task<HandshakeFrame?> ReadHandshakeFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            HandshakeFrame? parsed;
            try
            {
                parsed = TryParseHandshakeFrame(ref buffer);
            }
            catch (WireException)
            {
                Input.AdvanceTo(result.Buffer.Start);
                throw;
            }
            if (parsed is not null)
            {
                // Consume only this frame: bytes behind it belong to the next step or the app and must not be marked examined.
                Input.AdvanceTo(buffer.Start);
                return parsed;
            }
            Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted) return null;
        }
    }

    private static HandshakeFrame? TryParseHandshakeFrame(ref ReadOnlySequence<byte> buffer)
    {
        // Judge the announced length before waiting: a "hello" of megabytes is refused, not buffered.
        if (buffer.Length >= 4)
        {
            Span<byte> length = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(length) > HandshakeFrameBytesMax - 4)
                WireException.Throw("handshake frame is longer than any hello, proof or refusal");
        }
        if (!FrameCodec.TryReadFrame(ref buffer, out var frame)) return null;
        return new HandshakeFrame(frame.Type, frame.Flags, frame.Body.ToArray());
    }

    private ShutdownReason? Check(in HelloMessage hello)
    {
        var local = Options.LocalHello;
        if (hello.ProtocolVersion != local.ProtocolVersion)
            return ShutdownReason.HelloRejected($"peer speaks protocol version {hello.ProtocolVersion}, we speak {local.ProtocolVersion}");
        if (!string.Equals(hello.ClusterId, local.ClusterId, StringComparison.Ordinal))
            return ShutdownReason.HelloRejected($"peer belongs to cluster '{hello.ClusterId}', we to '{local.ClusterId}'");
        return null;
    }

    private sealed record HandshakeFrame(MessageType Type, byte Flags, byte[] Body)
    {
        public Frame AsFrame() => new(Type, Flags, new ReadOnlySequence<byte>(Body));
    }
}
