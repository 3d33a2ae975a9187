using AtomicBcast.Node;
using AtomicBcast.Transport;

namespace AtomicBcast.Tests.Security;

/// <summary>The security parts of cluster.json: secret, tokens, TLS; every mistake is one clear line.</summary>
public class ClusterConfigSecurityTests
{
    private const string Member = """{ "id": 1, "address": "127.0.0.1:7101", "dataDir": "d" }""";

    [Fact]
    public void SecretTokensAndTlsAreReadAndPathsResolved()
    {
        var config = ClusterConfig.Parse($$"""
            { "clusterId": "x", "secret": "0123456789abcdef",
              "tokens": [ { "name": "w", "token": "token-0123456789ab", "rights": ["publish", "subscribe"] } ],
              "tls": { "mode": "required", "caFile": "tls/ca.pem" },
              "members": [ { "id": 1, "address": "127.0.0.1:7101", "dataDir": "d", "certFile": "tls/m1.pem", "keyFile": "tls/m1.key" } ] }
            """, "/etc/abcast");
        Assert.Equal("0123456789abcdef", config.Secret);
        Assert.Equal(ClientRights.All, config.Tokens![0].ParsedRights);
        Assert.True(config.TlsEnabled);
        Assert.Equal("/etc/abcast/tls/ca.pem", config.Tls!.CaFile);
        Assert.Equal("/etc/abcast/tls/m1.key", config.Member(1).KeyFile);
        var options = NodeOptions.FromConfig(config with { Tls = null }, 1);
        Assert.Equal("0123456789abcdef", options.ClusterSecret);
        Assert.Equal("w", Assert.Single(options.ClientTokens).Name);
    }

    [Theory]
    [InlineData(""" "secret": "short", """, "secret must be")]
    [InlineData(""" "tokens": [ { "name": "w", "token": "short", "rights": ["publish"] } ], """, "token 'w' must be")]
    [InlineData(""" "tokens": [ { "name": "w", "token": "token-0123456789ab", "rights": ["admin"] } ], """, "unknown right 'admin'")]
    [InlineData(""" "tokens": [ { "name": "w", "token": "token-0123456789ab", "rights": [] } ], """, "has no rights")]
    [InlineData(""" "tokens": [ { "name": "w", "token": "token-0123456789ab", "rights": ["publish"] }, { "name": "w", "token": "token-0123456789cd", "rights": ["publish"] } ], """, "appears twice")]
    [InlineData(""" "tls": { "mode": "sometimes", "caFile": "ca.pem" }, """, "is not off, optional or required")]
    [InlineData(""" "tls": { "mode": "required" }, """, "tls.caFile is required")]
    [InlineData(""" "tls": { "mode": "required", "caFile": "ca.pem" }, """, "needs certFile and keyFile, or pkcs12File")]
    public void SecurityMistakesAreRefusedWithAClearReason(string fragment, string reason)
    {
        var error = Assert.Throws<ConfigException>(() => ClusterConfig.Parse($$"""{ "clusterId": "x", {{fragment}} "members": [ {{Member}} ] }""", "/tmp"));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void AMissingCertificateFileIsAConfigErrorNamingTheMember()
    {
        var config = ClusterConfig.Parse("""
            { "clusterId": "x", "tls": { "mode": "required", "caFile": "no-such-ca.pem" },
              "members": [ { "id": 1, "address": "127.0.0.1:7101", "dataDir": "d", "pkcs12File": "no-such.p12" } ] }
            """, Path.GetTempPath());
        var error = Assert.Throws<ConfigException>(() => NodeOptions.FromConfig(config, 1));
        Assert.Contains("member 1: cannot load its TLS certificate", error.Message);
    }

    [Fact]
    public void GeneratedSecretsAreLongRandomAndValid()
    {
        var a = ClusterConfig.NewSecret();
        Assert.NotEqual(a, ClusterConfig.NewSecret());
        Assert.True(a.Length >= 40);
        var config = ClusterConfig.Parse((ClusterConfig.CreateLocal("x", 1, 7101) with { Secret = a }).ToJson(), "/tmp");
        Assert.Equal(a, config.Secret);
    }
}
