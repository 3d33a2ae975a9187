namespace AtomicBcast;

/// <summary>
/// Every size limit of the system in one place, with the relations between them checked at start-up.
/// A limit that a peer can make us spend (frame size, batch size) is checked before memory is committed to it.
/// </summary>
public static class Limits
{
    /// <summary>Largest payload of one published message.</summary>
    public const int MessageBytesMax = 1 << 20;

    /// <summary>Largest batch (the encoded runs of one consensus instance, before compression).</summary>
    public const int BatchBytesMax = 4 << 20;

    /// <summary>Bytes of the fixed batch header (see Wire/BatchFormat.cs).</summary>
    public const int BatchHeaderBytes = 24;

    /// <summary>Bytes of a run header: producerId u64 | firstSeq u64 | count u32 | bytes u32.</summary>
    public const int RunHeaderBytes = 24;

    /// <summary>Largest frame body plus type and flags; checked before waiting for the body.</summary>
    public const int FrameBytesMax = BatchBytesMax + 1024;

    /// <summary>Frame header: u32 length | u8 type | u8 flags.</summary>
    public const int FrameHeaderBytes = 6;

    /// <summary>Longest cluster id, in UTF-8 bytes.</summary>
    public const int ClusterIdBytesMax = 64;

    /// <summary>Bytes of the random nonce in every hello.</summary>
    public const int HelloNonceBytes = 16;

    /// <summary>Bytes of a hello proof (HMAC-SHA256).</summary>
    public const int HelloProofBytes = 32;

    /// <summary>Longest shared secret or client token, in bytes (cluster.json holds them base64 or as text).</summary>
    public const int SecretBytesMax = 256;

    /// <summary>Most client tokens in one cluster config: a client's proof is checked against each in turn.</summary>
    public const int ClientTokensMax = 256;

    /// <summary>Default: most connections a member keeps open (or in their hello exchange) at once.</summary>
    public const int ConnectionsMax = 1024;

    /// <summary>Default: most connections from one remote IP address at once.</summary>
    public const int ConnectionsPerAddressMax = 256;

    /// <summary>Longest text of an error frame, in UTF-8 bytes.</summary>
    public const int ErrorTextBytesMax = 1024;

    /// <summary>Largest number of records in one promise chunk.</summary>
    public const int PromiseChunkRecordsMax = 256;

    /// <summary>Largest node id: it must fit the low 16 bits of a ballot.</summary>
    public const int NodeIdMax = ushort.MaxValue;

    static Limits()
    {
        System.Diagnostics.Debug.Assert(BatchBytesMax >= MessageBytesMax + RunHeaderBytes + BatchHeaderBytes + 5);
        System.Diagnostics.Debug.Assert(FrameBytesMax > BatchBytesMax);
    }
}
