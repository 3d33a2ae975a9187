using System.Security.Cryptography;
using AtomicBcast.Wire;

namespace AtomicBcast.Transport;

/// <summary>Which end of the connection a proof comes from; part of the MAC, so a proof cannot be reflected back.</summary>
public enum HelloRole : byte
{
    /// <summary>The side that connected.</summary>
    Initiator = 1,
    /// <summary>The side that accepted.</summary>
    Acceptor = 2,
}

/// <summary>
/// The challenge-response of the hello: HMAC-SHA256(key, label | role | initiator's hello body | acceptor's hello body).
/// Each hello body carries a fresh random nonce, the cluster id, the peer kind and node id, so a proof is bound to this
/// connection, this direction and these claims: recorded proofs are useless on any other connection, and a side never
/// produces the MAC the other side must show. The acceptor verifies the initiator's proof before it sends its own, so
/// a process that does not know the key gets no MAC from a member to work on.
/// </summary>
public static class HelloProof
{
    private static ReadOnlySpan<byte> Label => "abcast-hello-proof-v2"u8;

    public static void Compute(Span<byte> proof, ReadOnlySpan<byte> key, HelloRole role, ReadOnlySpan<byte> initiatorBody, ReadOnlySpan<byte> acceptorBody)
    {
        if (initiatorBody.Length > HelloCodec.BodyBytesMax || acceptorBody.Length > HelloCodec.BodyBytesMax)
            throw new ArgumentException("hello body longer than its limit");
        Span<byte> data = stackalloc byte[32 + 3 + 2 * HelloCodec.BodyBytesMax];
        int at = 0;
        Label.CopyTo(data);
        at += Label.Length;
        data[at++] = (byte)role;
        // Lengths first, so no two different pairs of bodies give the same input.
        data[at++] = (byte)initiatorBody.Length;
        initiatorBody.CopyTo(data[at..]);
        at += initiatorBody.Length;
        data[at++] = (byte)acceptorBody.Length;
        acceptorBody.CopyTo(data[at..]);
        at += acceptorBody.Length;
        HMACSHA256.HashData(key, data[..at], proof);
    }

    /// <summary>Whether <paramref name="proof"/> is the MAC of this exchange under <paramref name="key"/> (constant time).</summary>
    public static bool Verify(ReadOnlySpan<byte> proof, ReadOnlySpan<byte> key, HelloRole role, ReadOnlySpan<byte> initiatorBody, ReadOnlySpan<byte> acceptorBody)
    {
        Span<byte> expected = stackalloc byte[Limits.HelloProofBytes];
        Compute(expected, key, role, initiatorBody, acceptorBody);
        return proof.Length == Limits.HelloProofBytes && CryptographicOperations.FixedTimeEquals(proof, expected);
    }
}
