using AtomicBcast.Node;

namespace AtomicBcast.Tests.Node;

public class ClusterConfigTests
{
    private const string ThreeMembers = """
        { "clusterId": "demo",
          "members": [ { "id": 1, "address": "127.0.0.1:7101", "dataDir": "data/1" },
                       { "id": 2, "address": "127.0.0.1:7102", "dataDir": "data/2" },
                       { "id": 3, "address": "127.0.0.1:7103", "dataDir": "/abs/3" } ] }
        """;

    [Fact]
    public void ParsesMembersAndResolvesRelativeDataDirsAgainstTheFile()
    {
        var config = ClusterConfig.Parse(ThreeMembers, "/etc/abcast");
        Assert.Equal("demo", config.ClusterId);
        Assert.Equal(3, config.Members.Count);
        Assert.Equal(2, config.Quorum);
        Assert.Equal("/etc/abcast/data/1", config.Member(1).DataDir);
        Assert.Equal("/abs/3", config.Member(3).DataDir);
        Assert.Equal(7102, config.Member(2).EndPoint.Port);
    }

    [Theory]
    [InlineData("", "malformed")]
    [InlineData("{", "malformed")]
    [InlineData("""{ "clusterId": "", "members": [] }""", "clusterId")]
    [InlineData("""{ "clusterId": "x", "members": [] }""", "members")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 0, "address": "127.0.0.1:1", "dataDir": "d" } ] }""", "outside")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 70000, "address": "127.0.0.1:1", "dataDir": "d" } ] }""", "outside")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 1, "address": "localhost", "dataDir": "d" } ] }""", "host:port")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 1, "address": "127.0.0.1:1", "dataDir": "d" }, { "id": 1, "address": "127.0.0.1:2", "dataDir": "e" } ] }""", "twice")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 1, "address": "127.0.0.1:1", "dataDir": "d" }, { "id": 2, "address": "127.0.0.1:1", "dataDir": "e" } ] }""", "two members")]
    [InlineData("""{ "clusterId": "x", "members": [ { "id": 1, "address": "127.0.0.1:1", "dataDir": "" } ] }""", "dataDir")]
    [InlineData("""{ "clusterId": "x", "bogus": 1, "members": [ { "id": 1, "address": "127.0.0.1:1", "dataDir": "d" } ] }""", "malformed")]
    public void RejectsBadConfigsWithAClearReason(string json, string reasonFragment)
    {
        var error = Assert.Throws<ConfigException>(() => ClusterConfig.Parse(json, "/tmp"));
        Assert.Contains(reasonFragment, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void UnknownMemberIdNamesTheKnownOnes()
    {
        var config = ClusterConfig.Parse(ThreeMembers, "/tmp");
        var error = Assert.Throws<ConfigException>(() => config.Member(9));
        Assert.Contains("1, 2, 3", error.Message);
    }

    [Fact]
    public void LocalClusterRoundTripsThroughJson()
    {
        var local = ClusterConfig.CreateLocal("demo", 3, 7101);
        var parsed = ClusterConfig.Parse(local.ToJson(), "/base");
        Assert.Equal(["127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"], parsed.Members.Select(m => m.Address));
        Assert.Equal("/base/data/3", parsed.Member(3).DataDir);
    }

    [Fact]
    public void MissingFileIsAConfigError()
    {
        var error = Assert.Throws<ConfigException>(() => ClusterConfig.Load("/nonexistent/cluster.json"));
        Assert.Contains("/nonexistent/cluster.json", error.Message);
    }
}
