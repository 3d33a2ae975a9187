using System.Net;
using AtomicBcast.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtomicBcast.Transport;

/// <summary>
/// Everything a transport needs, fixed at start-up.
/// <para>Pipe thresholds count bytes the reader has not yet <em>examined</em> (System.IO.Pipelines semantics), not
/// bytes it has not consumed. A reader that waits for the rest of a frame marks the partial frame examined, so a
/// frame larger than the pause threshold cannot stall the receive loop that brings its tail. One connection's input
/// therefore holds at most InputPauseBytes + BlockBytes unexamined plus one partial frame (at most
/// <see cref="Limits.FrameBytesMax"/>, which the frame reader checks before waiting).</para>
/// </summary>
public sealed record TransportOptions
{
    /// <summary>Our hello; its version and cluster id are also what we require of the peer.</summary>
    public required HelloMessage LocalHello { get; init; }

    /// <summary>TLS (TCP transport only); null: plain TCP.</summary>
    public Tls.TlsSettings? Tls { get; init; }

    /// <summary>Secrets and tokens the hello proves and checks; default: open (empty secret, no client tokens).</summary>
    public HelloAuth Auth { get; init; } = HelloAuth.Open;

    /// <summary>The whole hello exchange (hellos, proofs, and the TLS handshake before them) must finish within this.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Accepted connections open at once (including those still in their hello exchange); a further one is
    /// closed at once with a logged reason. Bounds what a flood of connections can make a member hold.</summary>
    public int ConnectionsMax { get; init; } = Limits.ConnectionsMax;

    /// <summary>Accepted connections open at once from one remote IP address.</summary>
    public int ConnectionsPerAddressMax { get; init; } = Limits.ConnectionsPerAddressMax;

    /// <summary>How long a TCP connect may take; the OS default (minutes of SYN retries) is far too long for a member.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Nothing received for this long closes the connection (<see cref="ShutdownKind.Idle"/>).
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it. Members heartbeat far more often.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an orderly close waits for the peer's FIN before it aborts.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Received bytes not yet consumed above which the receive loop stops reading the socket.</summary>
    public long InputPauseBytes { get; init; } = 1024 * 1024;
    public long InputResumeBytes { get; init; } = 512 * 1024;

    /// <summary>Written bytes not yet sent above which the writer's FlushAsync waits: a slow peer pushes back.</summary>
    public long OutputPauseBytes { get; init; } = 1024 * 1024;
    public long OutputResumeBytes { get; init; } = 512 * 1024;

    /// <summary>Size of one pooled buffer block; one receive reads at most one block.</summary>
    public int BlockBytes { get; init; } = 64 * 1024;

    /// <summary>Wait for readable data before taking a block for a receive, so idle connections hold no buffer
    /// (costs one zero-byte receive per wakeup).</summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; init; } = true;

    /// <summary>Connections the pools are sized for at start-up (they grow beyond it, they do not fail).</summary>
    public int ConnectionsExpected { get; init; } = 16;

    public int AcceptBacklog { get; init; } = 128;

    /// <summary>
    /// Run the application's read of received bytes on the receive loop's thread, and the send loop on the thread that
    /// flushed, instead of handing each over to another thread: fewer thread hand-offs (context switches) per message.
    /// The price: a slow reader holds up its own connection's receives, and a flush runs the socket send. Right for a
    /// member, whose readers only parse frames and queue them for its loop; wrong for clients, whose callbacks run user
    /// code.
    /// </summary>
    public bool InlineHandOffs { get; init; }

    /// <summary>
    /// Up to this many plain TCP connections of this transport at once wait for received bytes on a thread of their own,
    /// blocked in poll(2), instead of on the socket engine's thread and then a thread-pool worker: the kernel wakes the
    /// thread that reads, so a receive costs one thread wake-up instead of two. Each such connection costs a thread that
    /// sleeps while nothing arrives. 0: none. Connections past the bound, and TLS connections (their reads go through
    /// SslStream), receive the usual way.
    /// </summary>
    public int ReceiveThreadsMax { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Called for every connection whose hello exchange failed (either direction), with why.</summary>
    public Action<EndPoint?, ShutdownReason>? HandshakeFailed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> for settings that could deadlock or cannot work.</summary>
    public void Validate()
    {
        Require(InputPauseBytes > 0 && InputResumeBytes > 0 && InputResumeBytes <= InputPauseBytes,
            "0 < InputResumeBytes <= InputPauseBytes");
        Require(OutputPauseBytes > 0 && OutputResumeBytes > 0 && OutputResumeBytes <= OutputPauseBytes,
            "0 < OutputResumeBytes <= OutputPauseBytes");
        Require(BlockBytes >= 4096, "BlockBytes must be at least 4096");
        Require(HelloTimeout > TimeSpan.Zero && CloseTimeout > TimeSpan.Zero && ConnectTimeout > TimeSpan.Zero, "timeouts must be positive");
        Require(IdleTimeout > TimeSpan.Zero || IdleTimeout == Timeout.InfiniteTimeSpan, "IdleTimeout must be positive or infinite");
        Require(ConnectionsMax > 0 && ConnectionsPerAddressMax > 0, "connection limits must be positive");
        Require(ReceiveThreadsMax >= 0, "ReceiveThreadsMax must not be negative");
        Require(Limits.ClusterIdBytesMax >= System.Text.Encoding.UTF8.GetByteCount(LocalHello.ClusterId), "cluster id too long");
    }

    private static void Require(bool condition, string what)
    {
        if (!condition) throw new ArgumentException(what);
    }
}
