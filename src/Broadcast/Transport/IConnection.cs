using System.IO.Pipelines;
using System.Net;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>
/// One established connection (the hello exchange is done). Bytes only: framing is the caller's business.
/// <para>Input: the peer's bytes after its hello. It completes without an exception when the receive side ends;
/// read <see cref="Closed"/> for why. Output: write many frames, then flush once per burst; the send loop gathers
/// everything buffered into one send. A flush result with IsCompleted means the connection is gone.</para>
/// </summary>
public interface IConnection : IAsyncDisposable
{
    PipeReader Input { get; }
    PipeWriter Output { get; }
    HelloMessage RemoteHello { get; }
    EndPoint? RemoteEndPoint { get; }

    /// <summary>Member side: the client token the peer proved in its hello, or null (anonymous client, or a member).</summary>
    ClientCredential? Credential { get; }

    /// <summary>Completes once both directions have stopped and the link is released; the first reason recorded wins.</summary>
    Task<ShutdownReason> Closed { get; }

    long BytesReceived { get; }
    long BytesSent { get; }

    /// <summary>
    /// Orderly close: completes <see cref="Output"/> (call it from the thread that writes), sends what is buffered,
    /// then FIN, and waits for the peer to close too, at most the close timeout (then aborts).
    /// </summary>
    Task CloseAsync();

    /// <summary>Abrupt close, from any thread: unsent bytes are dropped and the peer sees a reset.</summary>
    void Abort(ShutdownReason reason);
}
