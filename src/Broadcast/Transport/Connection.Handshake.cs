using System.Buffers;
using System.Buffers.Binary;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

internal abstract partial class Connection
{
    // length(4) + type(1) + flags(1) + version(2) + kind(1) + nodeId(2) + idBytes(1) + cluster id
    private const int HelloFrameBytesMax = Limits.FrameHeaderBytes + 6 + Limits.ClusterIdBytesMax;

    /// <summary>
    /// Both sides send their hello first, then read the peer's. Null on success (then <see cref="RemoteHello"/> is set);
    /// otherwise the connection is closing and the reason is returned (and recorded). A refusal closes in order,
    /// so the peer still reads our hello and reaches its own verdict instead of seeing a reset.
    /// </summary>
    public async Task<ShutdownReason?> HandshakeAsync(CancellationToken cancellationToken)
    {
        HelloCodec.Write(Output, Options.LocalHello);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        using var deadline = new CancellationTokenSource(Options.HelloTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        ShutdownReason? failure;
        try
        {
            var hello = await ReadHelloAsync(linked.Token).ConfigureAwait(false);
            // No hello and no bytes left: the connection ended first, and its reason says how.
            failure = hello is { } h ? Check(h) : await Closed.ConfigureAwait(false);
            if (failure is null) RemoteHello = hello!.Value;
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

    private async Task RefuseAsync(ShutdownReason reason)
    {
        // Only a well-formed refusal earns an orderly close; a silent or malformed peer is cut off.
        if (reason.Kind == ShutdownKind.HelloRejected)
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

    /// <summary>The peer's hello, or null if the connection ended before it arrived.</summary>
    private async Task<HelloMessage?> ReadHelloAsync(CancellationToken cancellationToken)
    {
        HelloMessage hello;
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            bool parsed;
            try
            {
                parsed = TryParseHello(ref buffer, out hello);
            }
            catch (WireException)
            {
                Input.AdvanceTo(result.Buffer.Start);
                throw;
            }
            if (parsed)
            {
                // Consume only the hello: bytes behind it belong to the app and must not be marked examined.
                Input.AdvanceTo(buffer.Start);
                return hello;
            }
            Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted) return null;
        }
    }

    private static bool TryParseHello(ref ReadOnlySequence<byte> buffer, out HelloMessage hello)
    {
        hello = default;
        // Judge the announced length before waiting: a "hello" of megabytes is refused, not buffered.
        if (buffer.Length >= 4)
        {
            Span<byte> length = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(length) > HelloFrameBytesMax - 4)
                WireException.Throw("first frame is longer than any hello");
        }
        if (!FrameCodec.TryReadFrame(ref buffer, out var frame)) return false;
        hello = HelloCodec.Read(frame);
        return true;
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
}
