using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AtomicBcast.Transport.Tls;

/// <summary>
/// A throwaway certificate authority for local clusters and tests (<c>abcast cluster init --tls</c>): ECDSA P-256 keys,
/// a self-signed CA, and per-member certificates it signs (server and client authentication, the member's IP as SAN).
/// For production, use certificates from your own CA; the files have the same shape.
/// </summary>
public static class CertificateAuthority
{
    public static X509Certificate2 CreateCa(string name, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
    }

    /// <summary>A certificate for <paramref name="name"/> signed by <paramref name="ca"/> (which must hold its private key).</summary>
    public static X509Certificate2 Issue(X509Certificate2 ca, string name, IPAddress? address, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        if (address is not null) san.AddIpAddress(address);
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var notAfter = now + lifetime < ca.NotAfter ? now + lifetime : new DateTimeOffset(ca.NotAfter);
        using var issued = request.Create(ca, now.AddMinutes(-5), notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificate (PEM) and, when given, its private key (PKCS#8 PEM, owner-only where the OS allows).</summary>
    public static void WritePem(X509Certificate2 certificate, string certPath, string? keyPath)
    {
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        if (keyPath is null) return;
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("certificate has no ECDSA private key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
