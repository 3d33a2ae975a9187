using System.Net;

namespace AtomicBcast.Client;

/// <summary>Where the cluster is and how patiently to talk to it; shared by <see cref="PublisherOptions"/> and <see cref="SubscriberOptions"/>.</summary>
public abstract class ClientOptions
{
    /// <summary>The cluster id every member names in its hello; a member of another cluster refuses the connection.</summary>
    public required string ClusterId { get; init; }

    /// <summary>Every member by id, with the address it serves clients on. Redirects name members by id.</summary>
    public required IReadOnlyDictionary<ushort, IPEndPoint> Members { get; init; }

    /// <summary>The client token (from the cluster's <c>tokens</c>), proven in the hello without being sent; null: none,
    /// which a cluster with tokens refuses (<see cref="AccessDeniedException"/>).</summary>
    public string? Token { get; init; }

    /// <summary>TLS to the members (their certificates must chain to <see cref="Transport.Tls.TlsSettings.TrustedCa"/>); null: plain TCP.</summary>
    public Transport.Tls.TlsSettings? Tls { get; init; }

    /// <summary>How long one connection attempt (TCP connect and hello) may take. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause between attempts when no member could be reached. Default 100 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    internal virtual void Validate()
    {
        if (string.IsNullOrEmpty(ClusterId)) throw new ArgumentException("ClusterId is required");
        if (Members is null || Members.Count == 0) throw new ArgumentException("Members must name at least one member");
        if (ConnectTimeout <= TimeSpan.Zero || RetryDelay < TimeSpan.Zero) throw new ArgumentException("timeouts must be positive");
    }
}

/// <summary>Options of a <see cref="Publisher"/>.</summary>
public sealed class PublisherOptions : ClientOptions
{
    /// <summary>
    /// This publisher's producer id (exactly-once, FIFO). Null: a random id. 0: anonymous, at least once (a run resent
    /// after <see cref="PublisherOptions.AckTimeout"/> or a lost connection may be delivered twice). A producer id must not
    /// be reused by another publisher instance: the cluster would treat its messages 1, 2, 3... as duplicates of the
    /// earlier instance's.
    /// </summary>
    public ulong? ProducerId { get; init; }

    /// <summary>Most runs in flight (sent, not yet acknowledged). Default 16.</summary>
    public int WindowRuns { get; init; } = 16;

    /// <summary>A run closes when the next message would take it above this many bytes (payloads with their length
    /// prefixes; a single larger message still forms a run). Default 256 KiB.</summary>
    public int RunBytesMax { get; init; } = 256 * 1024;

    /// <summary>Most messages in one run. Default 4096.</summary>
    public int RunMessagesMax { get; init; } = 4096;

    /// <summary>Messages accepted by <see cref="Publisher.PublishAsync"/> but not yet sent; further calls wait. Default 65536.</summary>
    public int PendingMessagesMax { get; init; } = 65536;

    /// <summary>A run not acknowledged within this time is resent (to the next member). Default 5 s.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal override void Validate()
    {
        base.Validate();
        // Zero or negative sizes would make every publish wait for ever, or form runs of no message.
        if (WindowRuns <= 0 || RunBytesMax <= 0 || RunMessagesMax <= 0 || PendingMessagesMax <= 0)
            throw new ArgumentException("WindowRuns, RunBytesMax, RunMessagesMax and PendingMessagesMax must be positive");
        if (AckTimeout <= TimeSpan.Zero) throw new ArgumentException("AckTimeout must be positive");
    }

    /// <summary>The member to try first (default: the lowest id).</summary>
    public ushort? PreferredMember { get; init; }
}

/// <summary>Options of a <see cref="Subscriber"/>.</summary>
public sealed class SubscriberOptions : ClientOptions
{
    /// <summary>The member to read from first (default: the lowest id); after a failure the subscriber moves to the next.</summary>
    public ushort? PreferredMember { get; init; }
}

/// <summary>One delivered message: its position in the total order and its bytes.</summary>
/// <param name="Position">0-based, gapless position in the one global order.</param>
/// <param name="Payload">The message bytes as published.</param>
public readonly record struct Delivery(long Position, ReadOnlyMemory<byte> Payload);

/// <summary>The position asked for is below every member's retention floor: it is no longer stored anywhere.</summary>
public sealed class BelowRetentionFloorException(long position, long earliestRetainedPosition)
    : InvalidOperationException($"position {position} is no longer retained; the earliest retained position is {earliestRetainedPosition}")
{
    /// <summary>The position that was asked for.</summary>
    public long Position { get; } = position;

    /// <summary>The earliest position any member still serves.</summary>
    public long EarliestRetainedPosition { get; } = earliestRetainedPosition;
}

/// <summary>A member refused this client in the hello: its token is unknown (<see cref="Wire.ErrorCode.Unauthenticated"/>)
/// or lacks the right (<see cref="Wire.ErrorCode.Unauthorized"/>). Retrying elsewhere would not help: every member has the same config.</summary>
public sealed class AccessDeniedException(Wire.ErrorCode code, string message) : UnauthorizedAccessException(message)
{
    /// <summary>The code of the member's error frame.</summary>
    public Wire.ErrorCode Code { get; } = code;
}

/// <summary>The publisher could not be used (no member reachable at connect, or it was disposed with the message unacknowledged).</summary>
public sealed class PublishException(string message, Exception? inner = null) : Exception(message, inner);
