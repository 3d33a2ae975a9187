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

    [Fact]
    public async Task TheTimelineCountsEveryAckOfTheWindowOnceWithTheSlowest()
    {
        var stem = Path.Combine(Path.GetTempPath(), "abcast-timeline-" + Guid.NewGuid().ToString("N")[..8]);
        string jsonPath = stem + ".json", timelinePath = stem + ".csv";
        try
        {
            var (code, output, error) = await ProcessCluster.RunAsync(
                $"bench --embedded --seconds 2 --warmup 1 --rate 20000 --json {jsonPath} --timeline {timelinePath}");
            Assert.True(code == 0, $"exit {code}: {error}\n{output}");
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(jsonPath));
            var lines = await File.ReadAllLinesAsync(timelinePath);
            Assert.Equal("ms,acked,slowestAckMs", lines[0]);
            long previous = -1, acked = 0;
            double slowest = 0;
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(',');
                long millisecond = long.Parse(fields[0]), count = long.Parse(fields[1]);
                double slowestMs = double.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(millisecond > previous && millisecond < 2000, line);
                Assert.True(count > 0 && slowestMs > 0, line);
                previous = millisecond;
                acked += count;
                slowest = Math.Max(slowest, slowestMs);
            }
            // The open loop has messages due in most milliseconds of the window.
            Assert.True(lines.Length > 1000, $"{lines.Length - 1} rows");
            var root = json.RootElement;
            Assert.Equal(Math.Round(root.GetProperty("ackedPerSecond").GetDouble() * 2), acked);
            double histogramMax = root.GetProperty("ackLatencyMs").GetProperty("max").GetDouble();
            Assert.True(Math.Abs(slowest - histogramMax) <= histogramMax * 0.01 + 0.01, $"timeline {slowest} ms, histogram {histogramMax} ms");
        }
        finally
        {
            File.Delete(jsonPath);
            File.Delete(timelinePath);
        }
    }

    [Theory]
    [InlineData("bench --embedded --seconds 3601 --timeline x.csv")]
    [InlineData("bench --embedded --timeline /nonexistent-abcast-dir/x.csv")]
    [InlineData("bench --embedded --json /nonexistent-abcast-dir/x.json")]
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
