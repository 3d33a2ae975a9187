using System.Net;
using System.Text;
using AtomicBcast.Transport;
using AtomicBcast.Consensus;
using AtomicBcast.Storage;

namespace AtomicBcast.Node;

/// <summary>Everything one member process needs: who it is, where its peers are, where its data lives, and tuning.</summary>
public sealed class NodeOptions
{
    /// <summary>The cluster id named in every hello; connections from another cluster are refused.</summary>
    public required string ClusterId { get; init; }

    /// <summary>This member's id (1..65535).</summary>
    public required ushort NodeId { get; init; }

    /// <summary>Every member of the cluster (this one included) and the address it serves on.</summary>
    public required IReadOnlyDictionary<ushort, IPEndPoint> Members { get; init; }

    /// <summary>The member's data directory (locked for the life of the host; the log lives in its <c>log</c> folder).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where to listen; defaults to this member's entry in <see cref="Members"/>.</summary>
    public IPEndPoint? ListenEndPoint { get; init; }

    /// <summary>
    /// Bytes of recent deliveries kept in memory for subscribers; older positions are served from the log. Default
    /// 32 MiB: about 0.3-0.7 s of a busy stream, enough for subscribers that keep up. It was 256 MiB, which made each
    /// member 260 MB larger, and on the test machine the ack p99 at half load 1.4 times that with 32 MiB (likely
    /// because the host's memory monitor samples resident pages; docs/PERFORMANCE.md, "A smaller delivery ring").
    /// </summary>
    public long SubscriberRetentionBytes { get; init; } = 32L << 20;

    /// <summary>Deliveries kept in memory for subscribers at most, whatever their bytes: with small batches each costs
    /// more than its bytes (an entry and a buffer object). Older positions are served from the log. Default 16,384.</summary>
    public int SubscriberRetentionDeliveries { get; init; } = DeliveryRing.DeliveriesMaxDefault;

    /// <summary>How often the consensus core's timers are checked. Default 5 ms.</summary>
    public int TickMs { get; init; } = 5;

    /// <summary>Events (peer frames, publisher runs, durability notices) the loop queues before readers wait. Default 8192.</summary>
    public int LoopQueueCapacity { get; init; } = 8192;

    /// <summary>Messages queued per outgoing connection before further ones are dropped (consensus retransmits). Default 16384.</summary>
    public int OutboundQueueCapacity { get; init; } = 16384;

    /// <summary>Bytes per log segment file. Default 64 MiB.</summary>
    public long SegmentBytes { get; init; } = 64L << 20;

    /// <summary>Bytes of log segments kept; older whole segments are trimmed every <see cref="TrimIntervalMs"/> (never the
    /// segment of the latest checkpoint or anything after it). Default 1 GiB.</summary>
    public long LogRetainBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Whether the log writes spare segment files with zeros ahead of need (<see cref="Storage.GroupCommitLogOptions.PrepareSpares"/>):
    /// syncs into written blocks are cheaper from the first segment on. Default true; in-process test clusters turn it off.
    /// </summary>
    public bool PrepareLogSpares { get; init; } = true;

    /// <summary>
    /// How often the log is trimmed to <see cref="LogRetainBytes"/>. Default 1 s: each trim then retires about one
    /// segment even at full speed, and the log keeps it as a spare for its next segment
    /// (<see cref="Storage.GroupCommitLogOptions.SpareSegmentsMax"/>) instead of deleting it.
    /// </summary>
    public int TrimIntervalMs { get; init; } = 1_000;

    /// <summary>Log durability; <see cref="DurabilityMode.Sync"/> unless a benchmark explicitly asks otherwise.</summary>
    public DurabilityMode Durability { get; init; } = DurabilityMode.Sync;

    /// <summary>The shared cluster secret members prove to each other in every hello; null: none.</summary>
    public string? ClusterSecret { get; init; }

    /// <summary>Client tokens and their rights; empty: clients need no token.</summary>
    public IReadOnlyList<ClientCredential> ClientTokens { get; init; } = [];

    /// <summary>TLS for every link (peers and clients); null: plain TCP.</summary>
    public Transport.Tls.TlsSettings? Tls { get; init; }

    /// <summary>Connections accepted at once, in total and per remote IP address (see <see cref="Limits"/>).</summary>
    public int ConnectionsMax { get; init; } = Limits.ConnectionsMax;
    public int ConnectionsPerAddressMax { get; init; } = Limits.ConnectionsPerAddressMax;

    /// <summary>How long a connection may take to complete its hello exchange (TLS included). Default 5 s.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Tests only: a simulated device for the log instead of the data directory's files.</summary>
    internal Storage.Devices.ILogDevice? LogDevice { get; init; }

    /// <summary>Adjusts the consensus core's tuning; node id and members are always set from these options.</summary>
    public Func<ConsensusOptions, ConsensusOptions>? ConfigureConsensus { get; init; }

    private static Transport.Tls.TlsSettings? LoadTls(ClusterConfig config, MemberConfig member)
    {
        if (!config.TlsEnabled) return null;
        try
        {
            return new Transport.Tls.TlsSettings
            {
                Mode = config.Tls!.Mode == "required" ? Transport.Tls.TlsMode.Required : Transport.Tls.TlsMode.Optional,
                TrustedCa = Transport.Tls.TlsSettings.LoadCa(config.Tls.CaFile!),
                Certificate = Transport.Tls.TlsSettings.LoadCertificate(member.CertFile, member.KeyFile, member.Pkcs12File),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ConfigException($"member {member.Id}: cannot load its TLS certificate or the CA: {e.Message}");
        }
    }

    /// <summary>Options for member <paramref name="id"/> of a loaded <see cref="ClusterConfig"/>.</summary>
    public static NodeOptions FromConfig(ClusterConfig config, int id)
    {
        var member = config.Member(id);
        return new NodeOptions
        {
            ClusterId = config.ClusterId,
            NodeId = (ushort)member.Id,
            Members = config.Members.ToDictionary(m => (ushort)m.Id, m => m.EndPoint),
            DataDirectory = member.DataDir,
            ClusterSecret = config.Secret,
            ClientTokens = (config.Tokens ?? []).Select(t => new ClientCredential(t.Name, Encoding.UTF8.GetBytes(t.Token), t.ParsedRights)).ToArray(),
            Tls = LoadTls(config, member),
        };
    }
}
