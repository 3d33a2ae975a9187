using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AtomicBcast.Node;

/// <summary>One member of the cluster as written in cluster.json.</summary>
/// <param name="Id">Member id, 1..65535; the low 16 bits of every ballot this member uses.</param>
/// <param name="Address">host:port where the member serves peers, publishers and subscribers.</param>
/// <param name="DataDir">The member's data directory; a relative path is relative to the config file.</param>
public sealed record MemberConfig(int Id, string Address, string DataDir)
{
    /// <summary>TLS: the member's certificate (PEM), with <see cref="KeyFile"/>; or use <see cref="Pkcs12File"/>.</summary>
    public string? CertFile { get; init; }

    /// <summary>TLS: the private key (PEM) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    /// <summary>TLS: certificate and key in one PKCS#12 file (no password), instead of <see cref="CertFile"/> and <see cref="KeyFile"/>.</summary>
    public string? Pkcs12File { get; init; }

    /// <summary>The parsed <see cref="Address"/>.</summary>
    [JsonIgnore]
    public IPEndPoint EndPoint => IPEndPoint.Parse(Address);
}

/// <summary>A client token in cluster.json: <c>{ "name": "writer", "token": "...", "rights": ["publish", "subscribe"] }</c>.</summary>
public sealed record TokenConfig(string Name, string Token, IReadOnlyList<string> Rights)
{
    /// <summary>The parsed <see cref="Rights"/>.</summary>
    [JsonIgnore]
    public Transport.ClientRights ParsedRights => Rights.Aggregate(Transport.ClientRights.None, (all, r) => all | r switch
    {
        "publish" => Transport.ClientRights.Publish,
        "subscribe" => Transport.ClientRights.Subscribe,
        _ => throw new ConfigException($"token '{Name}': unknown right '{r}' (publish, subscribe)"),
    });
}

/// <summary>TLS in cluster.json: <c>{ "mode": "required", "caFile": "tls/ca.pem" }</c>; each member names its certificate.</summary>
/// <param name="Mode">off, optional (a member accepts plain TCP and TLS, and connects with TLS), or required (plain TCP is refused).</param>
/// <param name="CaFile">The certificate authority (PEM) every member and client trusts; nothing else is trusted.</param>
public sealed record TlsConfig(string Mode, string? CaFile);

/// <summary>
/// The cluster configuration (cluster.json):
/// <code>{ "clusterId": "demo", "secret": "...", "members": [ { "id": 1, "address": "127.0.0.1:7101", "dataDir": "data/1" } ] }</code>
/// Optional: <c>secret</c> (members prove it to each other in every hello), <c>tokens</c> (clients must prove one, and
/// need its right), <c>tls</c>. Load it with <see cref="Load"/>, which validates everything and resolves paths.
/// </summary>
public sealed record ClusterConfig(string ClusterId, IReadOnlyList<MemberConfig> Members)
{
    /// <summary>Shared cluster secret (at least 16 characters); null: none (any process that speaks the protocol may join).</summary>
    public string? Secret { get; init; }

    /// <summary>Client tokens; null or empty: clients need none.</summary>
    public IReadOnlyList<TokenConfig>? Tokens { get; init; }

    /// <summary>TLS settings; null: plain TCP.</summary>
    public TlsConfig? Tls { get; init; }

    private static readonly JsonSerializerOptions s_jsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Shortest cluster secret or client token accepted, in characters.</summary>
    public const int SecretCharsMin = 16;

    /// <summary>Number of acceptors whose agreement makes a value chosen: a majority of members.</summary>
    [JsonIgnore]
    public int Quorum => Members.Count / 2 + 1;

    /// <summary>The member with id <paramref name="id"/>, or a <see cref="ConfigException"/> naming the known ids.</summary>
    public MemberConfig Member(int id) =>
        Members.FirstOrDefault(m => m.Id == id)
        ?? throw new ConfigException($"no member with id {id} in the config (members: {string.Join(", ", Members.Select(m => m.Id))})");

    /// <summary>Reads, validates and resolves a config file. Every problem is a <see cref="ConfigException"/> with one clear line.</summary>
    public static ClusterConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read config file '{path}': {e.Message}");
        }
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(text, baseDir, path);
    }

    /// <summary>Parses config text; relative data dirs are resolved against <paramref name="baseDir"/>.</summary>
    public static ClusterConfig Parse(string json, string baseDir, string sourceName = "config")
    {
        ClusterConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<ClusterConfig>(json, s_jsonOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"malformed config '{sourceName}': {e.Message}");
        }
        if (config is null) throw new ConfigException($"malformed config '{sourceName}': empty document");
        config.Validate(sourceName);
        var members = config.Members
            .Select(m => m with
            {
                DataDir = Path.GetFullPath(Path.Combine(baseDir, m.DataDir)),
                CertFile = Resolve(baseDir, m.CertFile),
                KeyFile = Resolve(baseDir, m.KeyFile),
                Pkcs12File = Resolve(baseDir, m.Pkcs12File),
            })
            .ToArray();
        var tls = config.Tls is { } t ? t with { CaFile = Resolve(baseDir, t.CaFile) } : null;
        return config with { Members = members, Tls = tls };
    }

    private static string? Resolve(string baseDir, string? path) => path is null ? null : Path.GetFullPath(Path.Combine(baseDir, path));

    /// <summary>Whether TLS is on (optional or required).</summary>
    [JsonIgnore]
    public bool TlsEnabled => Tls is { Mode: "optional" or "required" };

    /// <summary>The JSON text of this config, as <c>abcast cluster init</c> writes it.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_jsonOptions);

    private void Validate(string sourceName)
    {
        string where = $"config '{sourceName}'";
        if (string.IsNullOrWhiteSpace(ClusterId)) throw new ConfigException($"{where}: clusterId is missing or empty");
        if (Encoding.UTF8.GetByteCount(ClusterId) > Limits.ClusterIdBytesMax)
            throw new ConfigException($"{where}: clusterId is longer than {Limits.ClusterIdBytesMax} UTF-8 bytes");
        if (Members is null || Members.Count == 0) throw new ConfigException($"{where}: members is missing or empty");
        var ids = new HashSet<int>();
        var addresses = new HashSet<string>();
        foreach (var member in Members)
        {
            if (member is null) throw new ConfigException($"{where}: a member entry is null");
            if (member.Id < 1 || member.Id > Limits.NodeIdMax)
                throw new ConfigException($"{where}: member id {member.Id} is outside 1..{Limits.NodeIdMax}");
            if (!ids.Add(member.Id)) throw new ConfigException($"{where}: member id {member.Id} appears twice");
            if (string.IsNullOrWhiteSpace(member.Address) || !IPEndPoint.TryParse(member.Address, out var endPoint) || endPoint.Port == 0)
                throw new ConfigException($"{where}: member {member.Id} address '{member.Address}' is not host:port with an IP address and a port");
            if (!addresses.Add(endPoint.ToString()))
                throw new ConfigException($"{where}: address {member.Address} is used by two members");
            if (string.IsNullOrWhiteSpace(member.DataDir))
                throw new ConfigException($"{where}: member {member.Id} has no dataDir");
        }
        ValidateSecurity(where);
    }

    private void ValidateSecurity(string where)
    {
        if (Secret is { } secret && (secret.Length < SecretCharsMin || Encoding.UTF8.GetByteCount(secret) > Limits.SecretBytesMax))
            throw new ConfigException($"{where}: secret must be {SecretCharsMin} to {Limits.SecretBytesMax} characters");
        if (Tokens is { } tokens)
        {
            if (tokens.Count > Limits.ClientTokensMax) throw new ConfigException($"{where}: more than {Limits.ClientTokensMax} tokens");
            var names = new HashSet<string>();
            var values = new HashSet<string>();
            foreach (var token in tokens)
            {
                if (token is null || string.IsNullOrWhiteSpace(token.Name)) throw new ConfigException($"{where}: a token has no name");
                if (!names.Add(token.Name)) throw new ConfigException($"{where}: token name '{token.Name}' appears twice");
                if (token.Token is null || token.Token.Length < SecretCharsMin || Encoding.UTF8.GetByteCount(token.Token) > Limits.SecretBytesMax)
                    throw new ConfigException($"{where}: token '{token.Name}' must be {SecretCharsMin} to {Limits.SecretBytesMax} characters");
                if (!values.Add(token.Token)) throw new ConfigException($"{where}: token '{token.Name}' has the same value as another token");
                if (token.Rights is null || token.Rights.Count == 0) throw new ConfigException($"{where}: token '{token.Name}' has no rights");
                _ = token.ParsedRights;
            }
        }
        if (Tls is { } tls)
        {
            if (tls.Mode is not ("off" or "optional" or "required"))
                throw new ConfigException($"{where}: tls.mode '{tls.Mode}' is not off, optional or required");
            if (tls.Mode == "off") return;
            if (string.IsNullOrWhiteSpace(tls.CaFile)) throw new ConfigException($"{where}: tls.caFile is required with TLS on");
            foreach (var member in Members)
            {
                bool pem = member.CertFile is not null && member.KeyFile is not null;
                if (pem == (member.Pkcs12File is not null))
                    throw new ConfigException($"{where}: member {member.Id} needs certFile and keyFile, or pkcs12File (one of the two) with TLS on");
            }
        }
    }

    /// <summary>A loopback cluster of <paramref name="memberCount"/> members on consecutive ports, data dirs data/N.</summary>
    public static ClusterConfig CreateLocal(string clusterId, int memberCount, int basePort)
    {
        if (memberCount < 1) throw new ConfigException("a cluster needs at least one member");
        if (basePort < 1 || basePort + memberCount - 1 > 65535) throw new ConfigException($"ports {basePort}..{basePort + memberCount - 1} are not all valid");
        var members = Enumerable.Range(1, memberCount)
            .Select(id => new MemberConfig(id, $"127.0.0.1:{basePort + id - 1}", Path.Combine("data", id.ToString())))
            .ToArray();
        return new ClusterConfig(clusterId, members);
    }

    /// <summary>A fresh random cluster secret or token: 32 bytes from the OS's CSPRNG, base64url.</summary>
    public static string NewSecret() =>
        Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A configuration problem, with a message fit for one line on stderr.</summary>
public sealed class ConfigException(string message) : Exception(message);
