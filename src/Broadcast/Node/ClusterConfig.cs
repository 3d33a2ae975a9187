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
    /// <summary>The parsed <see cref="Address"/>.</summary>
    [JsonIgnore]
    public IPEndPoint EndPoint => IPEndPoint.Parse(Address);
}

/// <summary>
/// The cluster configuration (cluster.json):
/// <code>{ "clusterId": "demo", "members": [ { "id": 1, "address": "127.0.0.1:7101", "dataDir": "data/1" } ] }</code>
/// Load it with <see cref="Load"/>, which validates everything and resolves data directories.
/// </summary>
public sealed record ClusterConfig(string ClusterId, IReadOnlyList<MemberConfig> Members)
{
    private static readonly JsonSerializerOptions s_jsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

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
            .Select(m => m with { DataDir = Path.GetFullPath(Path.Combine(baseDir, m.DataDir)) })
            .ToArray();
        return config with { Members = members };
    }

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
}

/// <summary>A configuration problem, with a message fit for one line on stderr.</summary>
public sealed class ConfigException(string message) : Exception(message);
