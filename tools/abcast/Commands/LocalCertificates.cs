using AtomicBcast.Node;
using AtomicBcast.Transport.Tls;

namespace AtomicBcast.Cli.Commands;

/// <summary><c>cluster init --tls</c>: a throwaway CA and one certificate per member in DIR/tls, named in the config.</summary>
internal static class LocalCertificates
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(365);

    public static ClusterConfig Write(ClusterConfig config, string dir)
    {
        var tlsDir = Path.Combine(dir, "tls");
        Directory.CreateDirectory(tlsDir);
        using var ca = CertificateAuthority.CreateCa($"abcast {config.ClusterId} local CA", Lifetime);
        // The CA's key is not kept: nobody can issue further certificates for this cluster (re-run init to rotate).
        CertificateAuthority.WritePem(ca, Path.Combine(tlsDir, "ca.pem"), keyPath: null);
        var members = config.Members.Select(m =>
        {
            using var certificate = CertificateAuthority.Issue(ca, $"member-{m.Id}", m.EndPoint.Address, Lifetime);
            CertificateAuthority.WritePem(certificate, Path.Combine(tlsDir, $"member-{m.Id}.pem"), Path.Combine(tlsDir, $"member-{m.Id}.key"));
            return m with { CertFile = Path.Combine("tls", $"member-{m.Id}.pem"), KeyFile = Path.Combine("tls", $"member-{m.Id}.key") };
        }).ToArray();
        return config with { Members = members, Tls = new TlsConfig("required", Path.Combine("tls", "ca.pem")) };
    }
}
