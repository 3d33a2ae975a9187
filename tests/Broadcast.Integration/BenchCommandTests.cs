using System.Text.Json;

namespace AtomicBcast.Integration;

/// <summary>`abcast bench` end to end: the JSON it writes is complete and consistent. Correctness only, never speed.</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public async Task EmbeddedBenchWritesACompleteJsonReport()
    {
        var path = Path.Combine(Path.GetTempPath(), "abcast-bench-" + Guid.NewGuid().ToString("N")[..8] + ".json");
        try
        {
            var (code, output, error) = await ProcessCluster.RunAsync($"bench --embedded --seconds 2 --warmup 1 --json {path}");
            Assert.True(code == 0, $"exit {code}: {error}\n{output}");
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(path));
            var root = json.RootElement;
            Assert.True(root.GetProperty("messagesPerSecond").GetDouble() > 0);
            Assert.True(root.GetProperty("megabytesPerSecond").GetDouble() > 0);
            Assert.True(root.GetProperty("messagesDelivered").GetInt64() > 0);
            Assert.True(root.GetProperty("allDelivered").GetBoolean());
            foreach (var name in new[] { "ackLatencyMs", "deliveryLatencyMs" })
            {
                var p = root.GetProperty(name);
                double p50 = p.GetProperty("p50").GetDouble(), p99 = p.GetProperty("p99").GetDouble();
                double p999 = p.GetProperty("p999").GetDouble(), max = p.GetProperty("max").GetDouble();
                Assert.True(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= max, $"{name}: {p50} {p99} {p999} {max}");
            }
            var gc = root.GetProperty("gcCount");
            foreach (var gen in new[] { "gen0", "gen1", "gen2" }) Assert.True(gc.GetProperty(gen).GetInt32() >= 0);
            Assert.Contains("delivered", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("bench --embedded --size 8")]
    [InlineData("bench --embedded --config x.json")]
    [InlineData("bench --seconds 1")]
    [InlineData("bench --embedded --rate -5")]
    public async Task BadInputIsOneLineOnStderrAndExitCode2(string arguments)
    {
        var (code, _, error) = await ProcessCluster.RunAsync(arguments);
        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
    }
}
