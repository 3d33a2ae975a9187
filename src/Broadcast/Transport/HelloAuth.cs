using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>What a client token allows.</summary>
[Flags]
public enum ClientRights : byte
{
    None = 0,
    Publish = 1,
    Subscribe = 2,
    All = Publish | Subscribe,
}

/// <summary>A client token a member accepts: a name for the log, the secret bytes the client proves, and its rights.</summary>
public sealed record ClientCredential(string Name, byte[] Key, ClientRights Rights);

/// <summary>
/// What the hello exchange proves and checks (see <see cref="HelloProof"/>). The default proves and requires an empty
/// secret: any process that speaks the protocol is a member, any client may do anything (the behaviour before v2).
/// </summary>
public sealed record HelloAuth
{
    public static HelloAuth Open { get; } = new();

    /// <summary>The shared cluster secret: members prove it to each other, both ways. Empty: no secret (then a member
    /// that has one refuses us, and we refuse it).</summary>
    public ReadOnlyMemory<byte> ClusterSecret { get; init; }

    /// <summary>Client side: the token this client proves. Empty: none.</summary>
    public ReadOnlyMemory<byte> ClientToken { get; init; }

    /// <summary>Member side: the tokens clients may prove. Empty: clients are not authenticated (any client is anonymous).</summary>
    public IReadOnlyList<ClientCredential> ClientCredentials { get; init; } = [];

    /// <summary>Member side: whether a client (with the credential it proved, or null) may do what its hello says.
    /// A returned error is sent to the client and the connection closes. Null: everything is allowed.</summary>
    public Func<HelloMessage, ClientCredential?, ErrorMessage?>? AuthorizeClient { get; init; }

    /// <summary>Members and observers prove the cluster secret; everything else is a client.</summary>
    public static bool IsMemberKind(PeerKind kind) => kind is PeerKind.Member or PeerKind.Observer;

    /// <summary>The key we prove with, given what we are.</summary>
    internal ReadOnlySpan<byte> OwnKey(PeerKind localKind) => IsMemberKind(localKind) ? ClusterSecret.Span : ClientToken.Span;

    /// <summary>The credential whose key produced <paramref name="proof"/>, or null. Checks every one (few; handshake only).</summary>
    internal ClientCredential? FindCredential(ReadOnlySpan<byte> proof, ReadOnlySpan<byte> initiatorBody, ReadOnlySpan<byte> acceptorBody)
    {
        ClientCredential? found = null;
        foreach (var credential in ClientCredentials)
            if (HelloProof.Verify(proof, credential.Key, HelloRole.Initiator, initiatorBody, acceptorBody)) found ??= credential;
        return found;
    }
}
