using System.Security.Cryptography;
using System.Text;

namespace AtomicBcast.Chaos.Running;

/// <summary>A message's bytes: "producer:seq:" then random filler. Its id is read back from the prefix, its hash from all bytes.</summary>
internal static class Payloads
{
    public static byte[] Make(int producer, long seq, Random random)
    {
        var prefix = Encoding.ASCII.GetBytes($"{producer}:{seq}:");
        var payload = new byte[prefix.Length + random.Next(16, 200)];
        prefix.CopyTo(payload, 0);
        random.NextBytes(payload.AsSpan(prefix.Length));
        return payload;
    }

    /// <summary>The id "producer:seq" in the payload, or "?" plus a hex prefix if it has none.</summary>
    public static string IdOf(ReadOnlySpan<byte> payload)
    {
        int first = payload.IndexOf((byte)':');
        int second = first < 0 ? -1 : payload[(first + 1)..].IndexOf((byte)':');
        if (first <= 0 || second <= 0 || first + 1 + second > 40)
            return "?" + Convert.ToHexString(payload[..Math.Min(8, payload.Length)]);
        return Encoding.ASCII.GetString(payload[..(first + 1 + second)]);
    }

    /// <summary>The first 8 bytes of the SHA-256 of the payload, in hex.</summary>
    public static string HashOf(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        return Convert.ToHexString(hash[..8]);
    }
}
