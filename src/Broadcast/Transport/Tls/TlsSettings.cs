using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace AtomicBcast.Transport.Tls;

/// <summary>Whether a listener speaks TLS.</summary>
public enum TlsMode : byte
{
    /// <summary>Plain TCP only.</summary>
    Off = 0,
    /// <summary>Accepts TLS and plain TCP (told apart by the first byte); connects with TLS. For migrating a cluster.</summary>
    Optional = 1,
    /// <summary>TLS only: a plain TCP connection is refused (its first bytes fail the TLS handshake).</summary>
    Required = 2,
}

/// <summary>
/// TLS for a transport: our certificate (members; clients have none), and the one CA we trust. A peer certificate is
/// valid when it chains to that CA (host names are not checked: any certificate the cluster CA issued is trusted as a
/// member, which is what a private per-cluster CA means). Between members TLS is mutual: a hello that claims to be a
/// member over TLS must come with a valid client certificate.
/// </summary>
public sealed class TlsSettings
{
    public TlsMode Mode { get; init; } = TlsMode.Required;

    /// <summary>Our certificate with its private key: required for a listener and for a member connecting to a member.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The certificate authority whose certificates we accept; nothing else is trusted.</summary>
    public required X509Certificate2 TrustedCa { get; init; }

    /// <summary>Whether <paramref name="certificate"/> chains to <see cref="TrustedCa"/> (and is within its validity).</summary>
    public bool IsTrusted(X509Certificate? certificate)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(TrustedCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    internal SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificate = Certificate ?? throw new InvalidOperationException("a TLS listener needs a certificate"),
        // Asked for, not required: clients have none; a member without one is refused in the hello (see HelloAuth).
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is null || IsTrusted(certificate),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };

    internal SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "abcast-member",
        ClientCertificates = Certificate is null ? null : new X509CertificateCollection { Certificate },
        LocalCertificateSelectionCallback = Certificate is null ? null : (_, _, _, _, _) => Certificate,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsTrusted(certificate),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };

    /// <summary>Loads a certificate and key from PEM files, or from a PKCS#12 file (no password).</summary>
    public static X509Certificate2 LoadCertificate(string? certFile, string? keyFile, string? pkcs12File)
    {
        if (pkcs12File is not null) return X509CertificateLoader.LoadPkcs12FromFile(pkcs12File, password: null);
        if (certFile is null || keyFile is null) throw new ArgumentException("a certificate needs certFile and keyFile, or pkcs12File");
        using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        // Through PKCS#12 once: a key from PEM is ephemeral, which some TLS back ends refuse for a server.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }

    public static X509Certificate2 LoadCa(string caFile) => X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
}
